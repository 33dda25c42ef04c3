/**
 * What every connector shares: error wrapping (site named, password scrubbed, SQL kept),
 * SQL-driven transactions, and "unsupported" two-phase commit for engines without it.
 * Engine connectors extend this and implement the driver-specific hooks only.
 */
import type { Catalog, ColumnType } from '../catalog/types.js';
import type { Engine } from '../design/schema.js';
import type { Capabilities, LoadColumn, PreparedTransaction, ResolvedSite, SiteConnector } from './connector.js';
import { SiteError, UnsupportedError } from './connector.js';
import type { Dialect } from './dialect.js';

export abstract class BaseConnector implements SiteConnector {
  abstract readonly capabilities: Capabilities;
  abstract readonly dialect: Dialect;
  readonly engine: Engine;
  readonly site: string;
  protected txOpen = false;
  protected closed = false;
  /**
   * Connectors that talk to a server over a socket send BEGIN with the transaction's first
   * statement rather than on its own: one round trip fewer per transaction and per site (a
   * distributed write opens a session at every site it touches). Nothing changes for isolation:
   * PostgreSQL and InnoDB both take the snapshot at the first statement, not at BEGIN.
   */
  protected readonly defersBegin: boolean = false;
  /** The BEGIN not sent yet (see `defersBegin`): the next statement carries it. */
  private pendingBegin: string | undefined;

  constructor(protected readonly address: ResolvedSite) {
    this.engine = address.engine;
    this.site = address.name;
  }

  get inTransaction(): boolean {
    return this.txOpen;
  }

  /** Wraps a driver error into a SiteError naming the site, password scrubbed. */
  fail(e: unknown, what: string, sql?: string): SiteError {
    return siteFailure(this.address, e, what, sql);
  }

  /** Runs `fn`, turning any driver error into a SiteError about `what`. */
  protected async guard<T>(what: string, fn: () => Promise<T>, sql?: string): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.fail(e, what, sql);
    }
  }

  abstract version(): Promise<string>;
  abstract execute(sql: string): Promise<void>;
  abstract query<Row extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
  abstract modify(sql: string): Promise<number>;
  abstract stream(sql: string, batchSize?: number, types?: readonly ColumnType[]): AsyncIterable<unknown[][]>;

  /** Every row of a SELECT at once, values canonical as `stream` gives them. */
  async readAll(sql: string, types?: readonly ColumnType[]): Promise<unknown[][]> {
    const rows: unknown[][] = [];
    for await (const batch of this.stream(sql, 5000, types)) for (const r of batch) rows.push(r);
    return rows;
  }
  abstract bulkLoad(
    table: string,
    columns: readonly LoadColumn[],
    rows: AsyncIterable<unknown[][]> | Iterable<unknown[][]>,
  ): Promise<number>;
  abstract introspect(): Promise<Catalog>;
  protected abstract closeDriver(): Promise<void>;

  async begin(_options?: { gid?: string }): Promise<void> {
    await this.beginWith(this.dialect.beginTransaction());
  }

  /** Opens a transaction with `sql` (BEGIN, or an engine's own spelling), now or with the next statement. */
  protected async beginWith(sql: string): Promise<void> {
    if (this.txOpen) throw new SiteError(this.site, this.engine, 'a transaction is already open', { code: 'TX_STATE' });
    if (this.defersBegin) this.pendingBegin = sql;
    else await this.execute(sql);
    this.txOpen = true;
  }

  /**
   * The BEGIN the next statement must carry, handed out once: the connector sends it in the same
   * message as that statement (or just before it, where the protocol cannot carry two).
   */
  protected takePendingBegin(): string | undefined {
    const sql = this.pendingBegin;
    this.pendingBegin = undefined;
    return sql;
  }

  async commit(): Promise<void> {
    // A transaction that never sent a statement has nothing to commit at the server.
    if (this.takePendingBegin() === undefined) await this.execute('COMMIT');
    this.txOpen = false;
  }

  async rollback(): Promise<void> {
    try {
      if (this.takePendingBegin() === undefined) await this.execute('ROLLBACK');
    } finally {
      this.txOpen = false;
    }
  }

  /**
   * Runs `fn` in a transaction of its own unless one is open already (then `fn` joins it and the
   * caller decides). Used by bulkLoad so that a failed load leaves nothing behind.
   */
  protected async atomically<T>(fn: () => Promise<T>): Promise<T> {
    if (this.txOpen) return fn();
    await this.begin();
    try {
      const result = await fn();
      await this.commit();
      return result;
    } catch (e) {
      await this.rollback().catch(() => {});
      throw e;
    }
  }

  async prepare(_gid: string): Promise<void> {
    throw new UnsupportedError(this.site, this.engine, 'two-phase commit (prepare)');
  }
  async commitPrepared(_gid: string): Promise<void> {
    throw new UnsupportedError(this.site, this.engine, 'two-phase commit (commitPrepared)');
  }
  async rollbackPrepared(_gid: string): Promise<void> {
    throw new UnsupportedError(this.site, this.engine, 'two-phase commit (rollbackPrepared)');
  }
  async listPrepared(): Promise<PreparedTransaction[]> {
    throw new UnsupportedError(this.site, this.engine, 'two-phase commit (listPrepared)');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.closeDriver();
  }
}

/**
 * A driver error as a SiteError naming the site. The driver's message is scrubbed of the URL's
 * secrets, and the driver error is kept as `cause` only when it holds none of them.
 */
export function siteFailure(site: ResolvedSite, e: unknown, what: string, sql?: string): SiteError {
  if (e instanceof SiteError) return e;
  let raw = errorMessage(e);
  // mysql2 reports a connection the server dropped in its own words: say what happened.
  if (/connection is in closed state|PROTOCOL_CONNECTION_LOST|Connection lost/i.test(raw) && !/^connection lost/i.test(raw))
    raw = `connection lost (the server closed it or went away): ${raw}`;
  const message = site.secrets.reduce((m, s) => m.split(s).join('***'), raw);
  const code = (e as { code?: unknown } | null)?.code;
  let serialised = '';
  try {
    serialised = JSON.stringify(e, Object.getOwnPropertyNames(e ?? {})) ?? '';
  } catch {
    serialised = raw;
  }
  const safeCause = message === raw && !site.secrets.some((s) => serialised.includes(s));
  const opts: { code?: string; sql?: string; cause?: unknown } = {};
  if (typeof code === 'string') opts.code = code;
  if (sql !== undefined) opts.sql = sql;
  if (safeCause) opts.cause = e;
  return new SiteError(site.name, site.engine, `${what}: ${message}`, opts);
}

export function errorMessage(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length > 0) return e.errors.map((x) => errorMessage(x)).join('; ');
  if (e instanceof Error) return e.message || (e as NodeJS.ErrnoException).code || e.name;
  return String(e);
}

/** Groups rows from a synchronous iterator into batches (SQLite, DuckDB chunks re-cut). */
export async function* rebatch(
  source: AsyncIterable<unknown[][]> | Iterable<unknown[][]>,
  size: number,
): AsyncIterable<unknown[][]> {
  let batch: unknown[][] = [];
  for await (const chunk of source) {
    for (const row of chunk) {
      batch.push(row);
      if (batch.length >= size) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length > 0) yield batch;
}

/** Validates a two-phase transaction id: ddbkit generates them; refuse anything that would need quoting games. */
export function checkGid(gid: string): string {
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(gid))
    throw new Error(`invalid transaction id ${JSON.stringify(gid)}: use 1–64 of A-Z a-z 0-9 _ . : -`);
  return gid;
}
