/**
 * What can go wrong when writing through the distributed database, and which failures are worth
 * retrying (a deadlock or a lock timeout is not the statement's fault; a constraint is).
 */
import { UserError } from '../design/errors.js';
import { SiteError } from '../engines/connector.js';

export type WriteErrorKind =
  /** A constraint the central database enforced: primary key, foreign key, CHECK, NOT NULL, placement. */
  | 'constraint'
  /** The statement cannot be run as written (unknown column, unsupported construct, bad parameter). */
  | 'statement'
  /** The transaction is in a state that refuses this (failed, already ended, a second last resource). */
  | 'transaction'
  /** Commit could not be completed everywhere; the transaction was rolled back (or left to `recover`). */
  | 'commit';

export class WriteError extends UserError {
  override name = 'WriteError';
  readonly retryable: boolean;
  readonly constraint?: string;
  readonly site?: string;
  constructor(
    message: string,
    readonly kind: WriteErrorKind,
    options: { constraint?: string; site?: string; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable ?? false;
    if (options.constraint !== undefined) this.constraint = options.constraint;
    if (options.site !== undefined) this.site = options.site;
  }
}

/** Driver codes of failures that a retry of the whole transaction can overcome. */
const RETRYABLE_CODES = new Set([
  '40001', // PostgreSQL serialization_failure
  '40P01', // PostgreSQL deadlock_detected
  '55P03', // PostgreSQL lock_not_available (lock_timeout)
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_XA_RBDEADLOCK',
  'ER_XA_RBTIMEOUT',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'POOL_TIMEOUT',
]);

/** Whether running the whole transaction again may succeed: deadlocks, lock timeouts, conflicts. */
export function isRetryable(e: unknown): boolean {
  if (e instanceof WriteError) return e.retryable;
  if (e instanceof SiteError) {
    if (RETRYABLE_CODES.has(e.code)) return true;
    // DuckDB reports write-write conflicts of its optimistic concurrency control in the message only.
    return /TransactionContext Error: .*[Cc]onflict|could not serialize|deadlock/i.test(e.message);
  }
  return false;
}

/** A constraint violation reported by a site, by driver code: the message already names the site. */
export function isConstraintViolation(e: unknown): boolean {
  if (!(e instanceof SiteError)) return false;
  return (
    /^23\d\d\d$/.test(e.code) ||
    /^ER_(DUP_ENTRY|NO_REFERENCED_ROW|ROW_IS_REFERENCED|CONSTRAINT_FAILED|BAD_NULL_ERROR)/.test(e.code) ||
    /^SQLITE_CONSTRAINT/.test(e.code) ||
    /Constraint Error/i.test(e.message)
  );
}
