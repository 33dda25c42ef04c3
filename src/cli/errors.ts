import pc from 'picocolors';
import { DeployError, DeployRefused } from '../deploy/deploy.js';
import { UserError } from '../design/errors.js';
import { SiteError } from '../engines/connector.js';
import { SourceError } from '../engines/source.js';
import { PredicateError } from '../predicate/index.js';
import { MissingEnvVarError } from '../util/secrets.js';
import { ExitCode } from './exit-codes.js';
import { WriteError } from '../write/errors.js';

/** Errors caused by the user's input: printed as one line, never with a stack trace. */
export function isUserError(e: unknown): e is Error {
  return e instanceof UserError || e instanceof SourceError || e instanceof PredicateError || e instanceof MissingEnvVarError;
}

export function reportError(e: unknown, stderr: (s: string) => void): number {
  if (e instanceof DeployRefused) {
    stderr(`${pc.red('ddbkit: refused:')} ${e.message}\n`);
    return ExitCode.failed;
  }
  if (e instanceof WriteError) {
    stderr(`${pc.red('ddbkit: error:')} ${e.message}\n`);
    // A refused write (a constraint) is a failed check; a commit that failed at a site is a site failure.
    return e.kind === 'constraint' ? ExitCode.failed : e.kind === 'commit' ? ExitCode.site : ExitCode.unusable;
  }
  if (e instanceof SiteError || e instanceof DeployError) {
    stderr(`${pc.red('ddbkit: error:')} ${e.message}\n`);
    return ExitCode.site;
  }
  if (isUserError(e)) {
    stderr(`${pc.red('ddbkit: error:')} ${e.message}\n`);
    return ExitCode.unusable;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  stderr(
    `${pc.red('ddbkit: internal error:')} ${err.message}\n${err.stack ?? ''}\nThis is a bug in ddbkit; please report it with the command you ran.\n`,
  );
  return ExitCode.internal;
}
