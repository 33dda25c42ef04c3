import { UserError } from '../design/errors.js';
import { SiteError } from '../engines/connector.js';

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

/** A site read that failed: the site's own error as it is, anything else as a query error naming fragment and site. */
export function fetchFailure(e: unknown, fragment: string, site: string): Error {
  return e instanceof SiteError
    ? e
    : new QueryError(`fetching ${fragment} from site ${site} failed: ${(e as Error).message}`, 'EXECUTION');
}
