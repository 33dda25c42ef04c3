import { UserError } from '../design/errors.js';

/** A global query ddbkit cannot answer: it does not parse, or uses what ddbkit does not support. */
export class QueryError extends UserError {
  override name = 'QueryError';
  constructor(
    message: string,
    readonly code: 'SYNTAX' | 'UNSUPPORTED' | 'UNKNOWN_RELATION' | 'EXECUTION',
  ) {
    super(message);
  }
}
