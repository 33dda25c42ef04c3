/**
 * Errors that come from the user's input rather than from a bug: the CLI prints their message
 * (never a stack trace) and exits with code 2.
 */
export class UserError extends Error {
  override name = 'UserError';
}

export interface DesignErrorContext {
  file: string;
  line?: number;
  fragment?: string;
  site?: string;
}

/** The design cannot be used: malformed, or naming things the source does not have. */
export class DesignError extends UserError {
  override name = 'DesignError';
  constructor(
    readonly problem: string,
    readonly context: DesignErrorContext,
  ) {
    const where = `${context.file}${context.line ? `:${context.line}` : ''}`;
    const about = context.fragment ? ` fragment ${context.fragment}:` : context.site ? ` site ${context.site}:` : '';
    super(`${where}:${about} ${problem}`);
  }
}
