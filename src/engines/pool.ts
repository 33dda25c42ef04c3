/**
 * A small pool of connectors per site, so that many concurrent transactions can each hold their
 * own session. Engines that cannot open a site twice (a PGlite data dir, a DuckDB file held by this
 * process, SQLite where a second writer would only meet SQLITE_BUSY) get a pool of one: their
 * transactions take turns.
 */
import type { SiteSpec } from '../design/schema.js';
import { WaitQueue } from '../util/async.js';
import { type SiteConnector, SiteError, openConnector } from './connector.js';

/** Waiting longer than this for a session means the site is saturated or sessions wait on each other. */
export const DEFAULT_ACQUIRE_TIMEOUT_MS = 10_000;
/** Sessions per site for engines with concurrent sessions, unless told otherwise. */
export const DEFAULT_MAX_SESSIONS = 16;

export interface PoolOptions {
  /** Sessions per site for engines with concurrent sessions. */
  maxSessions?: number;
  acquireTimeoutMs?: number;
  /** Run once on every new session (e.g. lock timeouts). */
  setup?: (connector: SiteConnector) => Promise<void>;
}

export class SitePool {
  private readonly idle: SiteConnector[] = [];
  private readonly waiting = new WaitQueue<SiteConnector>();
  private opened = 0;
  private limit: number;
  private closed = false;
  private readonly all = new Set<SiteConnector>();

  constructor(
    readonly site: SiteSpec,
    private readonly baseDir: string,
    private readonly options: PoolOptions = {},
  ) {
    // Until the first connector tells its capabilities, allow one session.
    this.limit = 1;
  }

  get size(): number {
    return this.opened;
  }

  async acquire(): Promise<SiteConnector> {
    if (this.closed) throw new SiteError(this.site.name, this.site.engine, 'the database is closed', { code: 'CLOSED' });
    const ready = this.idle.pop();
    if (ready) return ready;
    if (this.opened < this.limit) return this.open();
    const timeoutMs = this.options.acquireTimeoutMs ?? DEFAULT_ACQUIRE_TIMEOUT_MS;
    return this.waiting.wait(
      timeoutMs,
      () =>
        new SiteError(
          this.site.name,
          this.site.engine,
          `no session free after ${timeoutMs} ms (${this.opened} in use): the site is saturated or transactions wait on each other`,
          { code: 'POOL_TIMEOUT' },
        ),
    );
  }

  /** Gives a session back; `broken` ones (connection lost, transaction state unknown) are closed. */
  release(connector: SiteConnector, broken = false): void {
    if (broken || this.closed || connector.inTransaction) {
      this.discard(connector);
      return;
    }
    const next = this.waiting.next();
    if (next) next.resolve(connector);
    else this.idle.push(connector);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiting.rejectAll(() => new SiteError(this.site.name, this.site.engine, 'the database is closed', { code: 'CLOSED' }));
    this.idle.length = 0;
    await Promise.all([...this.all].map((c) => c.close().catch(() => {})));
    this.all.clear();
  }

  private discard(connector: SiteConnector): void {
    this.all.delete(connector);
    this.opened--;
    void connector.close().catch(() => {});
    // Someone waiting can have a fresh session in its place.
    const next = this.waiting.next();
    if (next) this.open().then(next.resolve, next.reject);
  }

  private async open(): Promise<SiteConnector> {
    this.opened++;
    try {
      const connector = await openConnector(this.site, this.baseDir);
      this.all.add(connector);
      if (this.opened === 1 && this.all.size === 1) {
        this.limit = connector.capabilities.concurrentSessions ? (this.options.maxSessions ?? DEFAULT_MAX_SESSIONS) : 1;
        // A file-based SQLite could be opened twice, but a second writer would only meet SQLITE_BUSY.
        if (connector.engine === 'sqlite' || connector.engine === 'duckdb') this.limit = 1;
      }
      if (this.options.setup) {
        try {
          await this.options.setup(connector);
        } catch (e) {
          this.all.delete(connector);
          await connector.close().catch(() => {});
          throw e;
        }
      }
      return connector;
    } catch (e) {
      this.opened--;
      throw e;
    }
  }
}
