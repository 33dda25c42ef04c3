/**
 * A distributed transaction: one session per site it touches, committed together.
 *
 * - One site written (or none): a plain commit there, no log — the common case costs nothing extra.
 * - Several sites written: two-phase commit. Every participant with PREPARE TRANSACTION / XA
 *   prepares; at most one participant without it (SQLite, DuckDB, PGlite) takes part as the last
 *   resource and commits after all others prepared, writing a marker row in the same local
 *   transaction; the decision is then logged (synced to disk) and sent.
 * - Sites only read (locks taken by SELECT … FOR UPDATE) commit once the writers are prepared.
 *
 * Crash points (DDBKIT_FAILPOINT) sit where the protocol is most fragile; `recover` finishes what a
 * crash leaves prepared, as the log says.
 */
import { randomBytes } from 'node:crypto';
import type { SiteConnector } from '../engines/connector.js';
import type { SitePool } from '../engines/pool.js';
import { KnownPlacements } from '../query/known-rows.js';
import { WriteError, isRetryable } from './errors.js';
import { WaitQueue } from '../util/async.js';
import { failpoint } from './failpoint.js';
import type { DecisionLog } from './txlog.js';

/** The table a last-resource participant records its commit in (read by `recover`). */
export const DECISIONS_TABLE = 'ddbkit_decisions';

/**
 * The transactions of this process inside their two-phase commit, and who has been watching them.
 * A recovery lists a site's prepared transactions, then acts on each: a coordinator of this
 * process can finish one in between (its COMMIT PREPARED), and by then it is no longer in the set —
 * asking `has` at the moment of acting cannot tell it from a crashed run's. A watch started before
 * the listing collects every transaction in the set then or added later, so it names every
 * transaction of this process the listing can show, finished since or not.
 */
export class InFlightTransactions {
  private readonly live = new Set<string>();
  private readonly watchers = new Set<Set<string>>();

  add(gid: string): void {
    this.live.add(gid);
    for (const seen of this.watchers) seen.add(gid);
  }

  delete(gid: string): void {
    this.live.delete(gid);
  }

  /** Whether the transaction is inside its two-phase commit now. */
  has(gid: string): boolean {
    return this.live.has(gid);
  }

  /**
   * Collects the transactions in flight now and every one that enters until `stop`: `seen(gid)`
   * says whether the transaction was in flight at any moment since the watch began.
   */
  watch(): { seen(gid: string): boolean; stop(): void } {
    const seen = new Set(this.live);
    this.watchers.add(seen);
    return { seen: (gid) => seen.has(gid), stop: () => void this.watchers.delete(seen) };
  }
}

/**
 * Transactions of this process inside their two-phase commit (from the first log record to the
 * last message to the sites): `recover` in this same process must leave them alone — the pid
 * check that protects other coordinators cannot tell them apart from a crashed run.
 */
export const COMMITTING = new InFlightTransactions();

/**
 * How many transactions may hold sessions at once: as many as a site's pool has sessions. A
 * transaction takes a session at each site it touches, on first use, and keeps it to the end. With
 * more transactions open than sessions, two can each hold the session the other waits for — one
 * holds every session of ENIT and waits for FSEGT, the other the reverse — and both wait out the
 * pool's timeout (borrows that lock the book at its site, then the student at ENIT, did: 10 s
 * stalls). A transaction waits for a slot before its first session, holding nothing, so waits for
 * sessions always end.
 */
export class TransactionSlots {
  private free: number;
  private readonly waiting = new WaitQueue<void>();

  constructor(
    private readonly size: number,
    private readonly timeoutMs: number,
  ) {
    this.free = size;
  }

  /** Waits for a slot; resolves to the function that gives it back (once). */
  async take(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else
      await this.waiting.wait(
        this.timeoutMs,
        () =>
          new WriteError(
            `no transaction could start within ${this.timeoutMs} ms: ${this.size} already open, as many as a site has sessions ` +
              '(the sites are saturated, or open transactions are left waiting)',
            'transaction',
            { retryable: true },
          ),
      );
    let given = false;
    return () => {
      if (given) return;
      given = true;
      // The slot passes to the transaction waiting longest, or becomes free.
      const next = this.waiting.next();
      if (next) next.resolve();
      else this.free++;
    };
  }
}

export interface TransactionEnv {
  pool(site: string): SitePool;
  /** Admission: a transaction takes a slot before its first session (see TransactionSlots). */
  slots: TransactionSlots;
  /** The site's position in the design: part of the id the site knows the transaction by. */
  siteIndex(site: string): number;
  log: DecisionLog;
  /** Prefix of this design's transaction ids: `recover` only touches its own. */
  gidPrefix: string;
  /** Sites where the decisions table is known to exist (created once per process). */
  decisionTables: Set<string>;
}

interface Session {
  site: string;
  connector: SiteConnector;
  /** The id this site knows the transaction by (unique per site, for servers shared by sites). */
  siteGid: string;
  wrote: boolean;
  twoPhase: boolean;
}

export type TransactionState = 'active' | 'failed' | 'committed' | 'rolled back';

export class DistributedTransaction {
  readonly gid: string;
  private readonly sessions = new Map<string, Promise<Session>>();
  private readonly opened = new Map<string, Session>();
  private readonly siteQueues = new Map<string, Promise<unknown>>();
  private stateValue: TransactionState = 'active';
  private failure?: unknown;
  /** Where the rows this transaction locked, inserted or moved live (they cannot move under it). */
  readonly known = new KnownPlacements();
  /** Sites whose COMMIT PREPARED failed after the decision: `recover` finishes them. */
  readonly unfinished: string[] = [];
  /** The transaction's slot, taken before its first session and given back when it ends. */
  private admission?: Promise<void>;
  private releaseSlot?: () => void;

  constructor(private readonly env: TransactionEnv) {
    this.gid = `${env.gidPrefix}${randomBytes(8).toString('hex')}`;
  }

  get state(): TransactionState {
    return this.stateValue;
  }

  /** The sites written so far. */
  get writtenSites(): string[] {
    return [...this.opened.values()].filter((s) => s.wrote).map((s) => s.site);
  }

  /** The transaction's session at a site, begun on first use. */
  async session(site: string, forWrite: boolean): Promise<SiteConnector> {
    this.assertActive();
    let entry = this.sessions.get(site);
    if (!entry) {
      entry = this.open(site);
      this.sessions.set(site, entry);
    }
    let session: Session;
    try {
      session = await entry;
    } catch (e) {
      this.sessions.delete(site);
      throw e;
    }
    if (forWrite) session.wrote = true;
    return session.connector;
  }

  /**
   * Runs `fn` alone on the transaction's session at `site`: statements of one transaction can be
   * issued concurrently (a moved row's delete and insert, several fragments at one site), but a
   * session runs one statement at a time.
   */
  async exclusive<T>(site: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.siteQueues.get(site) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    this.siteQueues.set(
      site,
      run.then(
        () => undefined,
        () => undefined,
      ),
    );
    return run;
  }

  /** Records that the transaction changed rows at a site (it then takes part in the commit protocol). */
  markWritten(site: string): void {
    const session = this.opened.get(site);
    if (session) session.wrote = true;
  }

  /** After an error inside the transaction: it can only be rolled back (as in PostgreSQL). */
  markFailed(e: unknown): void {
    if (this.stateValue === 'active') {
      this.stateValue = 'failed';
      this.failure = e;
    }
  }

  async commit(): Promise<void> {
    if (this.stateValue === 'failed') {
      await this.rollback();
      throw new WriteError(
        `transaction ${this.gid} failed earlier and was rolled back: ${(this.failure as Error)?.message ?? 'unknown error'}`,
        'transaction',
      );
    }
    this.assertActive();
    const sessions = await this.settledSessions();
    const writers = sessions.filter((s) => s.wrote);
    const readers = sessions.filter((s) => !s.wrote);
    try {
      if (writers.length <= 1) {
        for (const w of writers) await w.connector.commit();
        await this.finishReaders(readers);
        this.stateValue = 'committed';
        return;
      }
      COMMITTING.add(this.gid);
      try {
        await this.twoPhaseCommit(writers, readers);
      } finally {
        COMMITTING.delete(this.gid);
      }
    } finally {
      this.releaseAll(sessions);
    }
  }

  async rollback(): Promise<void> {
    if (this.stateValue === 'committed' || this.stateValue === 'rolled back') return;
    const sessions = await this.settledSessions();
    await Promise.all(sessions.map((s) => (s.connector.inTransaction ? s.connector.rollback().catch(() => {}) : undefined)));
    this.stateValue = 'rolled back';
    this.releaseAll(sessions);
  }

  private async twoPhaseCommit(writers: Session[], readers: Session[]): Promise<void> {
    const lastResources = writers.filter((w) => !w.twoPhase);
    if (lastResources.length > 1) {
      await this.abortAll(writers.concat(readers), []);
      throw new WriteError(
        `transaction ${this.gid} wrote to ${lastResources.map((s) => `${s.site} (${s.connector.engine})`).join(' and ')}, ` +
          'which have no two-phase commit: at most one such site can take part in a transaction (committed last); ' +
          'nothing was committed',
        'transaction',
      );
    }
    const last = lastResources[0];
    const preparers = writers.filter((w) => w.twoPhase);
    const log = this.env.log;
    // Without a last resource, "no decision logged" already means roll back: no need to sync this.
    await log.append(
      {
        gid: this.gid,
        state: 'preparing',
        participants: writers.map((w) => w.site),
        pid: process.pid,
        ...(last ? { lastResource: last.site } : {}),
      },
      last !== undefined,
    );

    const prepared: Session[] = [];
    const results = await Promise.allSettled(
      preparers.map(async (p) => {
        await p.connector.prepare(p.siteGid);
        prepared.push(p);
      }),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) {
      await this.abortAll(writers.concat(readers), prepared);
      const cause = (failed as PromiseRejectedResult).reason as Error;
      const hint = /prepared transactions are disabled/i.test(cause.message)
        ? " (set max_prepared_transactions above 0 in that server's configuration to allow two-phase commit)"
        : '';
      throw new WriteError(
        `transaction ${this.gid} could not prepare everywhere and was rolled back: ${cause.message}${hint}`,
        'commit',
        {
          retryable: isRetryable(cause),
          cause,
        },
      );
    }
    await this.finishReaders(readers);
    failpoint('after-prepare');

    if (last) {
      try {
        await this.recordDecisionAt(last);
        await last.connector.commit();
      } catch (e) {
        await this.abortAll([last], prepared);
        throw new WriteError(
          `transaction ${this.gid}: the last participant ${last.site} could not commit, everything was rolled back: ${(e as Error).message}`,
          'commit',
          { retryable: isRetryable(e), cause: e },
        );
      }
    }
    await log.append({ gid: this.gid, state: 'commit' }, true);
    this.stateValue = 'committed';
    failpoint('after-decision');

    await Promise.all(
      prepared.map(async (p) => {
        try {
          await p.connector.commitPrepared(p.siteGid);
        } catch {
          // Decided and logged: the transaction is committed; `recover` (run on every open) finishes this site.
          this.unfinished.push(p.site);
        }
      }),
    );
    if (this.unfinished.length === 0) void log.append({ gid: this.gid, state: 'done' }, false).catch(() => {});
  }

  /** The marker that tells `recover` the last resource committed (same local transaction). */
  private async recordDecisionAt(last: Session): Promise<void> {
    const c = last.connector;
    const q = (n: string) => c.dialect.quoteIdentifier(n);
    if (!this.env.decisionTables.has(last.site)) {
      await c.execute(
        `CREATE TABLE IF NOT EXISTS ${q(DECISIONS_TABLE)} (${q('gid')} VARCHAR(100) PRIMARY KEY, ${q('decided_at')} VARCHAR(40))`,
      );
      this.env.decisionTables.add(last.site);
    }
    await c.modify(
      `INSERT INTO ${q(DECISIONS_TABLE)} (${q('gid')}, ${q('decided_at')}) VALUES ('${this.gid}', '${new Date().toISOString()}')`,
    );
  }

  private async abortAll(open: Session[], prepared: Session[]): Promise<void> {
    await Promise.all([
      ...open.filter((s) => s.connector.inTransaction).map((s) => s.connector.rollback().catch(() => {})),
      ...prepared.map((p) => p.connector.rollbackPrepared(p.siteGid).catch(() => {})),
    ]);
    this.stateValue = 'rolled back';
    void this.env.log.append({ gid: this.gid, state: 'abort' }, false).catch(() => {});
  }

  private async finishReaders(readers: Session[]): Promise<void> {
    await Promise.all(readers.map((r) => (r.connector.inTransaction ? r.connector.commit() : undefined)));
  }

  private async open(site: string): Promise<Session> {
    this.admission ??= this.env.slots.take().then((release) => {
      this.releaseSlot = release;
    });
    await this.admission;
    const pool = this.env.pool(site);
    const connector = await pool.acquire();
    const siteGid = `${this.gid}.${this.env.siteIndex(site)}`;
    const twoPhase = connector.capabilities.twoPhaseCommit;
    try {
      await connector.begin(twoPhase ? { gid: siteGid } : undefined);
    } catch (e) {
      pool.release(connector, true);
      throw e;
    }
    const session = { site, connector, siteGid, wrote: false, twoPhase };
    this.opened.set(site, session);
    return session;
  }

  private releaseAll(sessions: Session[]): void {
    for (const s of sessions) {
      this.env.pool(s.site).release(s.connector, s.connector.inTransaction);
      this.sessions.delete(s.site);
      this.opened.delete(s.site);
    }
    this.releaseSlot?.();
    this.releaseSlot = undefined;
    this.admission = undefined;
  }

  private async settledSessions(): Promise<Session[]> {
    const all = await Promise.allSettled([...this.sessions.values()]);
    return all.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }

  /** Throws unless statements can still run (not failed, not ended). */
  assertActive(): void {
    if (this.stateValue !== 'active')
      throw new WriteError(
        this.stateValue === 'failed'
          ? `current transaction is aborted after an error (${(this.failure as Error)?.message ?? 'unknown'}): ROLLBACK it`
          : `transaction ${this.gid} is already ${this.stateValue}`,
        'transaction',
      );
  }
}
