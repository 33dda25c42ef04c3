/**
 * The distributed database as if it were central: `openDistributed(design)` then `query(sql)`.
 *
 * Pipeline: parse → analyse what each global relation must provide (columns, rows) → localize and
 * reduce (fragments pruned by predicate reasoning, replicas chosen, selections and projections
 * pushed into each site's SQL) → fetch from the sites in parallel, streamed into the coordinator
 * (DuckDB) → rebuild the relations there → run the query there.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Statement } from 'pgsql-ast-parser';
import { type Catalog, type Column, type ColumnType, type Relation, findColumn, sameName } from '../catalog/types.js';
import { type Design, decisionSite, loadDesign } from '../design/load.js';
import { type ResolvedDesign, type ResolvedRelation, resolveDesign } from '../design/resolve.js';
import { type RelationAnalysis, analyzeRelation } from '../validate/reconstruction.js';
import type { SiteConnector } from '../engines/connector.js';
import { DEFAULT_ACQUIRE_TIMEOUT_MS, DEFAULT_MAX_SESSIONS, type PoolOptions, SitePool } from '../engines/pool.js';
import { openSource } from '../engines/source.js';
import { type Key, type Predicate, renderSql, variablesOf } from '../predicate/index.js';
import { keyOfValue } from '../predicate/key-of.js';
import { type RelationNeeds, adaptForCoordinator, analyzeQuery, parseQuery } from './analyze.js';
import { Coordinator } from './coordinator.js';
import { QueryError, fetchFailure } from './errors.js';
import { createHash } from 'node:crypto';
import { KnownPlacements, PlacementHints, fixedKey } from './known-rows.js';
import { WriteError } from '../write/errors.js';
import type { StatementResult } from '../write/executor.js';
import { type RecoveryReport, needsRecovery, recover } from '../write/recover.js';
import { ScriptRunner, Transaction, parseStatements, selectResult } from '../write/session.js';
import { DistributedTransaction, type TransactionEnv, TransactionSlots } from '../write/transaction.js';
import { DecisionLog } from '../write/txlog.js';
import { bindParams } from '../write/values.js';
import {
  type DirectPart,
  type DirectPlan,
  type DirectQuery,
  analyzeDirect,
  combineRows,
  directParts,
  isDirectCandidate,
  needsOf,
  planDirect,
  mergeRows,
} from './direct.js';
import { type FinalRows, type SlicePushdown, combineDistinctLists, planSlicePushdown } from './pushdown.js';
import { describeStaged, planStaged, runStaged } from './staged.js';
import { statisticsFor } from './stats.js';
import { applyTopN } from './topn.js';
import type { JoinChoice } from './joins.js';
import { type FragmentAccess, type PrunedFragment, type ReducedPlan, type RelationAccess, localize } from './localize.js';
import { batchesOf, readAhead } from '../util/async.js';

export interface SiteQuery {
  site: string;
  fragments: string[];
  sql: string;
  /** With analyze: rows returned and time taken. */
  rows?: number;
  ms?: number;
  /** The rows the cost model expects (when statistics were used). */
  estimated_rows?: number;
}

export interface QueryPlan {
  sql: string;
  relations: Array<{ relation: string; columns: string[]; predicate: string; fragments: string[] }>;
  site_queries: SiteQuery[];
  pruned: PrunedFragment[];
  coordinator: { engine: 'duckdb'; steps: string[] };
  /** Joins across sites: the strategy chosen by the cost model, its estimates (and, with analyze, actual figures). */
  joins?: JoinChoice[];
  /** With analyze: time per step. */
  timings?: { fetch_ms: number; rebuild_ms: number; execute_ms: number; total_ms: number };
}

export interface QueryResult {
  columns: string[];
  /** Each column's type family (decimal values are exact strings: JSON output turns them into numbers). */
  families: Array<string | undefined>;
  rows: unknown[][];
  plan: QueryPlan;
}

export interface OpenOptions {
  /** The folder `file:` site URLs resolve against (where `deploy` put them); the design's folder by default. */
  sitesDir?: string;
  /** Sessions per server site (PostgreSQL, MariaDB); embedded engines always have one. Default 16. */
  maxSessions?: number;
  /** How long a statement waits for a row lock before failing with a retryable error. Default 5000 ms. */
  lockTimeoutMs?: number;
  /** In-process DuckDB coordinators, for queries running at the same time (default 4). */
  coordinators?: number;
  /** Finish two-phase commits a crashed coordinator left in doubt, when the log names any (default true). */
  recover?: boolean;
}

export async function openDistributed(designFile: string, options: OpenOptions = {}): Promise<DistributedDatabase> {
  const design = await loadDesign(designFile);
  const sitesDir = options.sitesDir ?? design.dir;
  const catalog = await loadCatalog(design, sitesDir);
  const db = new DistributedDatabase(design, resolveDesign(design, catalog), sitesDir, options);
  // A coordinator that crashed in a two-phase commit left prepared transactions: finish them first.
  if (options.recover !== false && (await needsRecovery(db.decisionLog))) {
    try {
      await db.recover();
    } catch {
      // Sites unreachable now: `ddbkit recover` (or the next open) finishes them.
    }
  }
  return db;
}

/**
 * The global schema, from a cache beside the sites (written on first use) or from the source: a
 * query must not have to reload a .sql source every time.
 */
async function loadCatalog(design: Design, sitesDir: string): Promise<Catalog> {
  const cacheFile = path.join(sitesDir, '.ddbkit', `${design.name}.catalog.json`);
  const sourceFile = /\.sql$/i.test(design.source) ? path.resolve(design.dir, design.source) : undefined;
  try {
    const cached = JSON.parse(await readFile(cacheFile, 'utf8')) as { source: string; sourceMtime?: number; catalog: Catalog };
    const mtime = sourceFile ? (await stat(sourceFile)).mtimeMs : undefined;
    if (cached.source === design.source && cached.sourceMtime === mtime) return cached.catalog;
  } catch {
    // no cache yet, or unreadable: introspect the source
  }
  const source = await openSource(design.source, design.dir);
  try {
    const mtime = sourceFile ? (await stat(sourceFile)).mtimeMs : undefined;
    await mkdir(path.dirname(cacheFile), { recursive: true });
    await writeFile(cacheFile, JSON.stringify({ source: design.source, sourceMtime: mtime, catalog: source.catalog }));
    return source.catalog;
  } finally {
    await source.close();
  }
}

/**
 * How a query reaches the sites: outside a transaction each site read borrows a pooled session;
 * inside one, the transaction's own session (which sees its uncommitted writes and holds its locks).
 */
export interface ReadContext {
  use<T>(site: string, fn: (connector: SiteConnector) => Promise<T>): Promise<T>;
  /** SELECT … FOR UPDATE: rows read are locked at the site until the transaction ends. */
  lock?: boolean;
  /** Inside a transaction: where the rows it holds live (reads of them skip the other fragments). */
  known?: KnownPlacements;
}

/** A query under way: its columns, its rows in batches (or, when already whole in memory, all of them), its plan. */
interface Started {
  columns: string[];
  families: Array<string | undefined>;
  batches: AsyncIterable<unknown[][]>;
  /** The result when it is already in memory (final rows merged here): no batching, no copy. */
  rows?: unknown[][];
  plan: QueryPlan;
}

export class DistributedDatabase {
  private readonly pools = new Map<string, SitePool>();
  /** Parsed SELECTs (null: does not parse), by text: templates with `$n` parameters repeat. */
  private readonly parsed = new Map<string, Statement | null>();
  /** Where rows were last found by primary key (key lookups ask there first). */
  private readonly placements = new PlacementHints(PLACEMENT_HINTS);
  private readonly analyses = new Map<ResolvedRelation, RelationAnalysis>();
  private readonly coordinators = new Set<Promise<Coordinator>>();
  private readonly idleCoordinators: Coordinator[] = [];
  private readonly coordinatorWaiters: Array<(c: Coordinator) => void> = [];
  private readonly maxCoordinators: number;
  private closing = false;

  private readonly poolOptions: PoolOptions;
  /** The coordinator's two-phase commit decisions, beside the sites. */
  readonly decisionLog: DecisionLog;
  private readonly txEnv: TransactionEnv;

  constructor(
    readonly design: Design,
    readonly resolved: ResolvedDesign,
    readonly sitesDir: string,
    options: OpenOptions = {},
  ) {
    const lockTimeoutMs = options.lockTimeoutMs ?? 5000;
    this.maxCoordinators = Math.max(1, options.coordinators ?? 4);
    this.poolOptions = {
      ...(options.maxSessions === undefined ? {} : { maxSessions: options.maxSessions }),
      setup: (c) => sessionSetup(c, lockTimeoutMs),
    };
    this.decisionLog = DecisionLog.forDesign(sitesDir, design.name);
    this.txEnv = {
      pool: (site) => this.pool(site),
      siteIndex: (site) => design.sites.findIndex((s) => s.name === site),
      log: this.decisionLog,
      gidPrefix: gidPrefix(design.name, this.decisionLog.dir),
      decisionTables: new Set(),
      slots: new TransactionSlots(options.maxSessions ?? DEFAULT_MAX_SESSIONS, DEFAULT_ACQUIRE_TIMEOUT_MS),
    };
  }

  /**
   * Runs one statement — SELECT, INSERT, UPDATE or DELETE, with `$1`… parameters — as its own
   * transaction (committed with two-phase commit when it writes to several sites).
   */
  async execute(sql: string, params?: readonly unknown[]): Promise<StatementResult> {
    const statements = parseStatements(sql);
    if (statements.length !== 1) throw new QueryError(`expected one statement, got ${statements.length}`, 'SYNTAX');
    const statement = statements[0]!;
    const bound = params && params.length > 0 ? params : undefined;
    if (statement.kind === 'select') return selectResult(await this.query(statement.sql, bound ? { params: bound } : {}));
    if (statement.kind !== 'insert' && statement.kind !== 'update' && statement.kind !== 'delete')
      throw new WriteError(
        `${statement.kind.toUpperCase()}: use transaction() or runScript() for transaction control`,
        'transaction',
      );
    return this.transaction((tx) => tx.run(statement, bound));
  }

  /**
   * Runs `fn` in a distributed transaction: committed when it resolves (two-phase commit across
   * the sites written), rolled back when it throws. Retry on `isRetryable(error)`.
   */
  async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    const tx = this.begin();
    let result: T;
    try {
      result = await fn(tx);
    } catch (e) {
      await tx.rollback();
      throw e;
    }
    await tx.commit();
    return result;
  }

  /** Starts a transaction that the caller ends with `commit()` or `rollback()` (the shell, scripts). */
  begin(): Transaction {
    return new Transaction(this, new DistributedTransaction(this.txEnv));
  }

  /**
   * Runs a script of statements: each alone (autocommit) unless between BEGIN and COMMIT/ROLLBACK.
   * An error stops the script and rolls back an open transaction; so does a missing COMMIT.
   */
  async runScript(sql: string, onResult?: (r: StatementResult) => void | Promise<void>): Promise<StatementResult[]> {
    const runner = new ScriptRunner(this);
    let results: StatementResult[];
    try {
      results = await runner.run(sql, onResult);
    } catch (e) {
      await runner.close().catch(() => {});
      throw e;
    }
    if (await runner.close())
      throw new WriteError('the script ended inside a transaction (no COMMIT): it was rolled back', 'transaction');
    return results;
  }

  /** Finishes in-doubt two-phase commits of this design as the decision log says. */
  recover(): Promise<RecoveryReport> {
    return recover({ design: this.design, pool: (s) => this.pool(s), log: this.decisionLog, gidPrefix: this.txEnv.gidPrefix });
  }

  /** Runs a global SELECT and returns all its rows (arrays, in `columns` order). */
  async query(
    sql: string,
    options: { analyze?: boolean; context?: ReadContext; params?: readonly unknown[] } = {},
  ): Promise<QueryResult> {
    let context = options.context ?? this.pooled;
    const locking = FOR_UPDATE.exec(sql);
    if (locking) {
      sql = sql.slice(0, locking.index);
      context = { ...context, lock: true };
    }
    const direct = options.analyze ? undefined : await this.tryDirect(sql, context, options.params);
    if (direct) return direct;
    // The full pipeline reads literal SQL: parameters are bound into the text.
    if (options.params && options.params.length > 0) sql = bindParams(sql, options.params);
    return this.withCoordinator(async (coordinator) => {
      const {
        columns,
        families,
        batches,
        rows: whole,
        plan,
      } = await this.start(sql, options.analyze ?? false, context, coordinator);
      const rows: unknown[][] = whole ?? [];
      const started = performance.now();
      if (!whole) for await (const batch of batches) rows.push(...batch);
      if (plan.timings) {
        plan.timings.execute_ms += performance.now() - started;
        plan.timings.total_ms += performance.now() - started;
      }
      return { columns, families, rows, plan };
    });
  }

  /** The same as objects keyed by column name (a later column of the same name wins). */
  async rows(sql: string): Promise<Array<Record<string, unknown>>> {
    const { columns, rows } = await this.query(sql);
    return rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]])));
  }

  /** Streams the result in batches; one of the coordinators is held until the stream ends. */
  async *stream(sql: string): AsyncIterable<Array<Record<string, unknown>>> {
    const coordinator = await this.acquireCoordinator();
    try {
      const { columns, batches } = await this.start(sql, false, this.pooled, coordinator);
      for await (const batch of batches) yield batch.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]])));
    } finally {
      this.releaseCoordinator(coordinator);
    }
  }

  /** The distributed plan, without running the query. */
  async explain(sql: string): Promise<QueryPlan> {
    const direct = this.directPlan(sql, false);
    if (direct) return direct.plan;
    const adapted = adaptForCoordinator(sql, this.statementOf(sql));
    const accesses = this.plan(adapted.sql, adapted.statement);
    applyTopN(adapted.sql, adapted.statement, accesses);
    const plan = this.describe(adapted.sql, accesses);
    const pushdown = planSlicePushdown(adapted.sql, adapted.statement, accesses, { lists: true });
    if (pushdown) describePushdown(plan, pushdown);
    else {
      const staged = await planStaged(adapted.sql, adapted.statement, accesses, () => this.statistics(this.pooled));
      if (staged) describeStaged(plan, staged);
    }
    return plan;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.pools.values()].map((p) => p.close()));
    await this.decisionLog.close();
    await Promise.all([...this.coordinators].map(async (c) => (await c).close().catch(() => {})));
    this.coordinators.clear();
  }

  /**
   * Coordinators (in-process DuckDB instances) are pooled: concurrent queries — many users in a
   * load test, reads inside transactions — each get their own, up to `maxCoordinators`.
   */
  private async withCoordinator<T>(fn: (c: Coordinator) => Promise<T>): Promise<T> {
    const c = await this.acquireCoordinator();
    try {
      return await fn(c);
    } finally {
      this.releaseCoordinator(c);
    }
  }

  private async acquireCoordinator(): Promise<Coordinator> {
    const idle = this.idleCoordinators.pop();
    if (idle) return idle;
    if (this.coordinators.size < this.maxCoordinators) {
      const opening = Coordinator.open();
      this.coordinators.add(opening);
      try {
        return await opening;
      } catch (e) {
        this.coordinators.delete(opening);
        throw e;
      }
    }
    return new Promise<Coordinator>((resolve) => this.coordinatorWaiters.push(resolve));
  }

  private releaseCoordinator(c: Coordinator): void {
    if (this.closing) return;
    const waiter = this.coordinatorWaiters.shift();
    if (waiter) waiter(c);
    else this.idleCoordinators.push(c);
  }

  private plan(sql: string, statement: Statement, lock = false): RelationAccess[] {
    const analysis = analyzeQuery(sql, this.resolved.catalog, statement);
    const cached = (rr: ResolvedRelation) => this.analysisOf(rr);
    // Locking reads lock the first listed replica (the primary copy), so that transactions
    // locking the same row always meet at the same site instead of deadlocking across sites.
    if (lock) return [...analysis.needs.values()].map((needs) => localize(this.resolved, needs, { analysis: cached }));
    const decision = decisionSite(this.design).name;
    const first = [...analysis.needs.values()].map((needs) =>
      localize(this.resolved, needs, { preferSites: [decision], analysis: cached }),
    );
    // Replicas are read where the query must go anyway (fragments without replicas), so that a
    // query touching one region's fragments talks to that region's site only.
    const used = new Set(
      first
        .flatMap((a) => leavesOf(a.plan))
        .filter((l) => l.fragment.sites.length === 1)
        .map((l) => l.site.name),
    );
    if (used.size === 0) return first;
    const prefer = [...used].sort((a, b) => (a === decision ? -1 : b === decision ? 1 : 0));
    return [...analysis.needs.values()].map((needs) =>
      localize(this.resolved, needs, { preferSites: [...prefer, decision], analysis: cached }),
    );
  }

  private describe(sql: string, accesses: RelationAccess[]): QueryPlan {
    const leaves = accesses.flatMap((a) => leavesOf(a.plan));
    return {
      sql,
      relations: accesses.map((a) => ({
        relation: a.relation.relation.name,
        columns: a.relation.relation.columns.map((c) => c.name).filter((c) => a.needs.columns.has(c)),
        predicate: a.needs.predicate.kind === 'const' ? String(a.needs.predicate.value).toUpperCase() : describePredicate(a),
        fragments: leavesOf(a.plan).map((l) => l.fragment.name),
      })),
      site_queries: leaves.map((l) => ({ site: l.site.name, fragments: [l.fragment.name], sql: l.sql })),
      pruned: accesses.flatMap((a) => a.pruned),
      coordinator: {
        engine: 'duckdb',
        steps: [
          ...accesses.map(
            (a) =>
              `rebuild ${a.relation.relation.name} from ${
                leavesOf(a.plan)
                  .map((l) => l.fragment.name)
                  .join(', ') || 'no fragment (empty)'
              }`,
          ),
          'run the query over the rebuilt relations',
        ],
      },
    };
  }

  private async start(sql: string, analyze: boolean, context: ReadContext, coordinator: Coordinator): Promise<Started> {
    const t0 = performance.now();
    const adapted = adaptForCoordinator(sql, this.statementOf(sql));
    sql = adapted.sql;
    const statement = adapted.statement;
    const accesses = this.plan(sql, statement, context.lock ?? false);
    if (!context.lock) applyTopN(sql, statement, accesses);
    const plan = this.describe(sql, accesses);
    await coordinator.reset();

    // Locked reads fetch the rows themselves (FOR UPDATE cannot lock aggregated groups).
    const pushdown = context.lock ? undefined : planSlicePushdown(sql, statement, accesses, { lists: true });
    if (pushdown) return this.startPushdown(statement, pushdown, plan, coordinator, analyze, t0, context);
    // Aggregation below a LEFT JOIN, semijoins: staged (staged.ts); joins shipped whole run below.
    const staged = context.lock ? undefined : await planStaged(sql, statement, accesses, () => this.statistics(context));
    if (staged) describeStaged(plan, staged);
    if (staged && staged.kind !== 'ship') {
      const r = await runStaged(sql, staged, plan, coordinator, context, analyze, t0);
      return { ...r, columns: postgresNames(statement, r.columns), plan };
    }

    // Fetch every fragment: sites in parallel, each site's queries in turn, each stream loaded
    // into the coordinator as it arrives (a bounded read-ahead keeps memory flat).
    const tables = new Map<FragmentAccess, string>();
    const bySite = new Map<string, FragmentAccess[]>();
    for (const leaf of accesses.flatMap((a) => leavesOf(a.plan)))
      bySite.set(leaf.site.name, [...(bySite.get(leaf.site.name) ?? []), leaf]);
    await Promise.all(
      [...bySite.entries()].map(([siteName, leaves]) =>
        context.use(siteName, async (connector) => {
          for (const leaf of leaves) {
            const started = performance.now();
            const columns = columnsOf(leaf);
            const table = await coordinator.createFragmentTable(columns);
            tables.set(leaf, table);
            let rows: number;
            try {
              rows = await coordinator.load(
                table,
                columns,
                readAhead(
                  connector.stream(
                    context.lock ? lockedSql(leaf.sql, connector) : leaf.sql,
                    5000,
                    columns.map((c) => c.type),
                  ),
                  8,
                ),
              );
            } catch (e) {
              throw fetchFailure(e, leaf.fragment.name, siteName);
            }
            if (analyze) {
              const q = plan.site_queries.find(
                (s) => s.sql === leaf.sql && s.site === siteName && s.fragments[0] === leaf.fragment.name,
              );
              if (q) Object.assign(q, { rows, ms: Math.round((performance.now() - started) * 10) / 10 });
            }
          }
        }),
      ),
    );
    const t1 = performance.now();
    for (const a of accesses) {
      const columns = a.relation.relation.columns.map((c) => c.name).filter((c) => a.needs.columns.has(c));
      await coordinator.rebuild(a.relation.relation, columns, a.plan, (leaf) => tables.get(leaf as FragmentAccess)!);
    }
    const t2 = performance.now();
    const result = await coordinator.answer(sql);
    const t3 = performance.now();
    if (analyze) plan.timings = { fetch_ms: t1 - t0, rebuild_ms: t2 - t1, execute_ms: t3 - t2, total_ms: t3 - t0 };
    return { columns: postgresNames(statement, result.columns), families: result.families, batches: result.batches, plan };
  }

  /** Slice pushdown: each site joins and pre-aggregates its slice; the coordinator combines. */
  private async startPushdown(
    statement: Statement,
    pushdown: SlicePushdown,
    plan: QueryPlan,
    coordinator: Coordinator,
    analyze: boolean,
    t0: number,
    context: ReadContext,
  ): Promise<Started> {
    describePushdown(plan, pushdown);
    if (pushdown.final) return this.mergeFinal(statement, pushdown, pushdown.final, plan, analyze, t0, context);
    const table = await coordinator.createFragmentTable(pushdown.columns, pushdown.partialTable);
    if (pushdown.lists) {
      // Distinct-value lists: every slice's rows first, each group's lists counted as one union.
      const rows = (
        await Promise.all(pushdown.slices.map((slice) => this.readSlice(slice, pushdown.readTypes!, plan, analyze, context)))
      ).flat();
      try {
        combineDistinctLists(rows, pushdown.groupColumns!, pushdown.lists);
      } catch (e) {
        throw new QueryError((e as Error).message, 'EXECUTION');
      }
      await coordinator.load(table, pushdown.columns, batchesOf(rows, 5000));
    } else {
      // Partial groups are few next to the rows they stand for: each slice's read whole, in one
      // round trip, and loaded as it arrives.
      const types = pushdown.columns.map((c) => c.type);
      await Promise.all(
        pushdown.slices.map(async (slice) => {
          const rows = await this.readSlice(slice, types, plan, analyze, context);
          await coordinator.load(table, pushdown.columns, batchesOf(rows, 5000));
        }),
      );
    }
    const t1 = performance.now();
    const result = await coordinator.answer(pushdown.rewritten);
    const t2 = performance.now();
    if (analyze) plan.timings = { fetch_ms: t1 - t0, rebuild_ms: 0, execute_ms: t2 - t1, total_ms: t2 - t0 };
    return { columns: postgresNames(statement, result.columns), families: result.families, batches: result.batches, plan };
  }

  /** All rows of one slice query, read with `types`; with analyze, its rows and time go into the plan. */
  private readSlice(
    slice: SlicePushdown['slices'][number],
    types: ColumnType[],
    plan: QueryPlan,
    analyze: boolean,
    context: ReadContext,
  ): Promise<unknown[][]> {
    return context.use(slice.site.name, async (connector) => {
      const started = performance.now();
      let rows: unknown[][];
      try {
        rows = await connector.readAll(slice.sql, types);
      } catch (e) {
        throw fetchFailure(e, slice.fragments.join(', '), slice.site.name);
      }
      if (analyze) {
        const q = plan.site_queries.find((x) => x.sql === slice.sql && x.site === slice.site.name);
        if (q) Object.assign(q, { rows: rows.length, ms: Math.round((performance.now() - started) * 10) / 10 });
      }
      return rows;
    });
  }

  /**
   * The slices' rows are the result's (every group whole in one slice): fetched in parallel,
   * merged in order and cut to LIMIT/OFFSET here, without the coordinator engine.
   */
  private async mergeFinal(
    statement: Statement,
    pushdown: SlicePushdown,
    final: FinalRows,
    plan: QueryPlan,
    analyze: boolean,
    t0: number,
    context: ReadContext,
  ): Promise<Started> {
    const parts = await Promise.all(pushdown.slices.map((slice) => this.readSlice(slice, final.types, plan, analyze, context)));
    const t1 = performance.now();
    const rows = mergeRows(parts, final.order);
    const end = final.limit === undefined ? undefined : final.offset + final.limit;
    const kept = final.offset > 0 || end !== undefined ? rows.slice(final.offset, end) : rows;
    // The output is usually the slice row itself (same columns, same order): no copy then.
    const identity = final.project.length === final.types.length && final.project.every((p, i) => p === i);
    const result = identity ? kept : kept.map((r) => final.project.map((i) => r[i]));
    const t2 = performance.now();
    if (analyze) plan.timings = { fetch_ms: t1 - t0, rebuild_ms: 0, execute_ms: t2 - t1, total_ms: t2 - t0 };
    return {
      columns: postgresNames(statement, final.names),
      families: final.project.map((i) => final.types[i]!.family),
      batches: batchesOf(result, 2000),
      rows: result,
      plan,
    };
  }

  /** Rows per fragment for the cost model, counted at the sites once and cached beside them (stats.ts). */
  private statistics(context: ReadContext) {
    return statisticsFor(this.design, this.resolved, this.sitesDir, (site, fn) => context.use(site, fn));
  }

  /** The session pool of a site, opened on first use. */
  pool(siteName: string): SitePool {
    let p = this.pools.get(siteName);
    if (!p) {
      const site = this.design.sites.find((s) => s.name === siteName);
      if (!site) throw new QueryError(`unknown site ${siteName}`, 'EXECUTION');
      p = new SitePool(site, this.sitesDir, this.poolOptions);
      this.pools.set(siteName, p);
    }
    return p;
  }

  /** Reads outside a transaction: a pooled session per site, given back when the read ends. */
  private readonly pooled: ReadContext = {
    use: async (siteName, fn) => {
      const pool = this.pool(siteName);
      const connector = await pool.acquire();
      let broken = false;
      try {
        return await fn(connector);
      } catch (e) {
        broken = !(e instanceof QueryError);
        throw e;
      } finally {
        pool.release(connector, broken);
      }
    },
  };

  /**
   * A plain single-relation SELECT (columns, WHERE, no grouping or ordering) whose rows come from
   * horizontal fragments that hold every column it reads needs no coordinator: each fragment's
   * site answers its part and the rows are passed on as they are. This is the path of key lookups
   * and of SELECT … FOR UPDATE in check-then-write transactions.
   */
  private async tryDirect(sql: string, context: ReadContext, params?: readonly unknown[]): Promise<QueryResult | undefined> {
    const direct = this.directPlan(sql, context.lock ?? false, params, context.known);
    if (!direct) return undefined;
    // Aggregates answer for every part (a count of 0 is a row): only whole rows tell where a key is.
    const wholeRows = direct.combine.kind !== 'aggregate';
    const { partRows, asked } = await this.readParts(
      direct.query.relation,
      direct.query.where,
      direct.parts,
      context,
      wholeRows ? direct.query.read : undefined,
    );
    const rows = combineRows(direct, partRows);
    // The plan shows the queries sent: a key found where it was last seen was not asked elsewhere.
    const plan = { ...direct.plan, site_queries: direct.plan.site_queries.filter((_, i) => asked.has(i)) };
    return { columns: direct.columns, families: direct.families, rows, plan };
  }

  /**
   * Reads the parts of a direct plan, each at its site. When the condition fixes the primary key,
   * the fragments where that key was last found are asked first and the others only if it is not
   * there; where it is found is remembered, and, for a row locked, known to the transaction (it
   * cannot move until the transaction ends). Parts not asked are left empty; `asked` lists those asked.
   * `read` names the columns of whole rows (undefined for aggregates): a small result that holds
   * the primary key also tells where each of its rows lives (a list of books, then a borrow of one).
   */
  private async readParts(
    relation: Relation,
    where: Predicate,
    parts: readonly DirectPart[],
    context: ReadContext,
    read: readonly string[] | undefined,
  ): Promise<{ partRows: unknown[][][]; asked: Set<number> }> {
    const partRows: unknown[][][] = parts.map(() => []);
    const asked = new Set<number>();
    const ask = (indexes: number[]): Promise<unknown> => {
      for (const i of indexes) asked.add(i);
      const bySite = new Map<string, number[]>();
      for (const i of indexes) bySite.set(parts[i]!.site, [...(bySite.get(parts[i]!.site) ?? []), i]);
      return Promise.all(
        [...bySite.entries()].map(([site, mine]) =>
          context.use(site, async (connector) => {
            for (const i of mine) {
              const part = parts[i]!;
              partRows[i] = await connector.readAll(context.lock ? lockedSql(part.sql, connector) : part.sql, part.types);
            }
          }),
        ),
      );
    };
    const all = parts.map((_, i) => i);
    const key = read ? fixedKey(where, relation.primaryKey) : undefined;
    const hinted = key && new Set(parts.map((p) => p.fragment)).size > 1 ? this.placements.get(relation, key) : undefined;
    const first = hinted ? all.filter((i) => hinted.includes(parts[i]!.fragment)) : [];
    if (first.length > 0 && first.length < parts.length) {
      await ask(first);
      if (first.every((i) => partRows[i]!.length === 0)) await ask(all.filter((i) => !first.includes(i)));
    } else {
      await ask(all);
    }
    if (key) {
      const found = [...new Set(parts.filter((_, i) => partRows[i]!.length > 0).map((p) => p.fragment))];
      if (found.length > 0) {
        this.placements.set(relation, key, found);
        if (context.lock && context.known) context.known.set(relation, key, found);
      } else if (hinted) {
        this.placements.forget(relation, key);
      }
    } else if (read) {
      try {
        this.rememberPlacements(relation, read, parts, partRows);
      } catch {
        // A hint is never needed: a value the predicate logic cannot key is simply not remembered.
      }
    }
    return { partRows, asked };
  }

  /** Where the rows of a small result live, by primary key, when the rows hold it (see readParts). */
  private rememberPlacements(
    relation: Relation,
    read: readonly string[],
    parts: readonly DirectPart[],
    partRows: readonly unknown[][][],
  ): void {
    if (partRows.reduce((n, rows) => n + rows.length, 0) > PLACEMENTS_FROM_ONE_READ) return;
    const columns = relation.primaryKey.map((name) => findColumn(relation, name)!);
    const at = columns.map((c) => read.findIndex((r) => sameName(r, c.name)));
    if (columns.length === 0 || at.some((i) => i < 0)) return;
    parts.forEach((part, p) => {
      for (const row of partRows[p]!) {
        const key = columns.map((c, j) => keyOfValue(c.type, row[at[j]!]));
        if (key.every((k) => k !== null)) this.placements.set(relation, key as Key[], [part.fragment]);
      }
    });
  }

  /**
   * Rows of one relation by a condition built as a predicate (no SQL text to parse): the write
   * path's key lookups. Answered from the sites directly when the fragments allow it, otherwise
   * through the full pipeline.
   */
  async lookup(relation: Relation, read: string[], where: Predicate, context: ReadContext): Promise<unknown[][]> {
    const rr = this.resolved.relations.find((r) => r.relation === relation)!;
    const needs: RelationNeeds = {
      relation,
      columns: new Set([...read, ...[...variablesOf(where).values()].map((v) => v.name)]),
      predicate: where,
      references: 1,
    };
    const options = context.lock
      ? { analysis: (x: ResolvedRelation) => this.analysisOf(x) }
      : { analysis: (x: ResolvedRelation) => this.analysisOf(x), preferSites: [decisionSite(this.design).name] };
    const localized = rr.fragments.length === 0 ? undefined : localize(this.resolved, needs, options);
    const access = localized && context.known ? restrictToKnown(localized, where, context.known) : localized;
    const parts = access ? directParts(relation, access, read, where) : [];
    if (!parts) {
      const q = (n: string) => `"${n.replace(/"/g, '""')}"`;
      const sql = `SELECT ${read.map(q).join(', ')} FROM ${q(relation.name)} WHERE ${renderSql(where, { column: (v) => q(v.name) })}`;
      return (await this.query(sql, { context })).rows;
    }
    return (await this.readParts(relation, where, parts, context, read)).partRows.flat();
  }

  /**
   * The direct plan of a SELECT, if it has one. `params` are the values of `$1`… in `sql` (a
   * template): parsed once and cached, a template costs no parsing on later calls.
   */
  /**
   * The statement of a SQL text, parsed once: the direct path and the full pipeline share it, and
   * a query run again (a report, a transaction's template) is not parsed again. Parsed statements
   * are frozen, so that no planning step can change what a later query reads.
   */
  private statementOf(sql: string): Statement {
    const cached = this.parsed.get(sql);
    if (cached) return cached;
    if (cached === null) return parseQuery(sql); // throws the error again
    let statement: Statement;
    try {
      statement = deepFreeze(parseQuery(sql));
    } catch (e) {
      this.remember(sql, null);
      throw e;
    }
    this.remember(sql, statement);
    return statement;
  }

  private remember(sql: string, statement: Statement | null): void {
    if (this.parsed.size >= 2000) this.parsed.delete(this.parsed.keys().next().value!);
    this.parsed.set(sql, statement);
  }

  private directPlan(sql: string, lock: boolean, params?: readonly unknown[], known?: KnownPlacements): DirectPlan | undefined {
    let statement: Statement | undefined;
    try {
      statement = this.statementOf(sql);
    } catch {
      return undefined; // the full pipeline reports it
    }
    if (!isDirectCandidate(statement)) return undefined;
    let query: DirectQuery | undefined;
    try {
      query = analyzeDirect(sql, statement, this.resolved.catalog, params);
    } catch {
      return undefined;
    }
    if (!query) return undefined;
    const rr = this.resolved.relations.find((r) => r.relation === query.relation);
    if (!rr || rr.fragments.length === 0) return undefined;
    const analysis = (x: ResolvedRelation) => this.analysisOf(x);
    // Locking reads lock the first listed replica (the primary copy): see plan().
    const access = localize(
      this.resolved,
      needsOf(query),
      lock ? { analysis } : { analysis, preferSites: [decisionSite(this.design).name] },
    );
    return planDirect(sql, query, known ? restrictToKnown(access, query.where, known) : access);
  }

  analysisOf(rr: ResolvedRelation): RelationAnalysis {
    let a = this.analyses.get(rr);
    if (!a) this.analyses.set(rr, (a = analyzeRelation(rr)));
    return a;
  }
}

/** The plan of a query answered by slice pushdown: one query per slice, then the combination. */
function describePushdown(plan: QueryPlan, pushdown: SlicePushdown): void {
  plan.site_queries = pushdown.slices.map((s) => ({ site: s.site.name, fragments: s.fragments, sql: s.sql }));
  const f = pushdown.final;
  if (f) {
    plan.coordinator.steps = [
      `none: the sites’ final rows are merged here, from ${pushdown.slices.length} slice${pushdown.slices.length === 1 ? '' : 's'} (every group is computed whole at one site)${f.order.length ? ' in the query’s order' : ''}${f.limit !== undefined ? `, first ${f.limit}${f.offset ? ` after ${f.offset}` : ''} kept` : f.offset ? `, the first ${f.offset} skipped` : ''}`,
    ];
    return;
  }
  plan.coordinator.steps = [
    `combine the partial groups of ${pushdown.slices.length} slice${pushdown.slices.length === 1 ? '' : 's'} (co-located joins and partial aggregates ran at the sites)`,
    ...(pushdown.lists
      ? [
          `count(DISTINCT …) across slices: each slice lists its values per group; the union of a group's lists is counted here before combining`,
        ]
      : []),
    `run: ${pushdown.rewritten.replace(/\s+/g, ' ').trim()}`,
  ];
}

/**
 * The transaction ids of one decision log start with this: recovery touches only transactions
 * whose decisions are in its own log. The design's name alone is not enough — two deployments of
 * one design (a copy beside another, tests) can share a MariaDB server, whose XA RECOVER lists
 * every database's prepared transactions, and one's recovery would roll back the other's.
 */
function gidPrefix(designName: string, logFile: string): string {
  const hash = createHash('sha1').update(designName).update('\0').update(path.resolve(logFile)).digest('hex');
  return `ddbkit_${hash.slice(0, 8)}_`;
}

/** The fragments of a localized relation that can hold what `where` asks, given the transaction's rows. */
function restrictToKnown(access: RelationAccess, where: Predicate, known: KnownPlacements): RelationAccess {
  const pruned = [...access.pruned];
  const keep = (p: ReducedPlan): ReducedPlan => {
    switch (p.kind) {
      case 'fragment':
        if (known.allows(p.access.fragment, where)) return p;
        pruned.push({
          fragment: p.access.fragment.name,
          relation: access.relation.relation.name,
          reason: 'the transaction holds the row it asks for (or its parent) in another fragment',
        });
        return { kind: 'empty' };
      case 'union': {
        const parts = p.parts.map(keep).filter((x) => x.kind !== 'empty');
        return parts.length === 0 ? { kind: 'empty' } : parts.length === 1 ? parts[0]! : { kind: 'union', parts };
      }
      default:
        return p;
    }
  };
  return { ...access, plan: keep(access.plan), pruned };
}

/** A trailing locking clause: the rows are locked at the sites, the coordinator never sees it. */
/** Primary keys whose fragment is remembered (about 100 bytes each). */
const PLACEMENT_HINTS = 100_000;
/** Rows of one read whose placements are remembered: more is a scan, which would only churn the hints. */
const PLACEMENTS_FROM_ONE_READ = 10_000;

const FOR_UPDATE =
  /\s+FOR\s+(?:UPDATE|SHARE|NO\s+KEY\s+UPDATE|KEY\s+SHARE)(?:\s+OF\s+[\w\s,."]+?)?(?:\s+(?:NOWAIT|SKIP\s+LOCKED))?\s*;?\s*$/i;

/**
 * A site SELECT that locks the rows it reads. SQLite and DuckDB have no row locks: their sessions
 * are not shared between transactions (a pool of one), which serialises writers there instead.
 */
function lockedSql(sql: string, connector: SiteConnector): string {
  return connector.engine === 'sqlite' || connector.engine === 'duckdb' ? sql : `${sql} FOR UPDATE`;
}

/**
 * Every new site session waits at most `lockTimeoutMs` for a row lock: a deadlock between
 * transactions on different sites is seen by no single site, and a lock timeout is what ends it
 * (the transaction fails with a retryable error).
 */
export async function sessionSetup(connector: SiteConnector, lockTimeoutMs: number): Promise<void> {
  if (connector.engine === 'postgres') await connector.execute(`SET lock_timeout = ${Math.max(1, Math.round(lockTimeoutMs))}`);
  else if (connector.engine === 'mariadb' || connector.engine === 'mysql')
    await connector.execute(`SET SESSION innodb_lock_wait_timeout = ${Math.max(1, Math.round(lockTimeoutMs / 1000))}`);
}

function leavesOf(plan: ReducedPlan): FragmentAccess[] {
  switch (plan.kind) {
    case 'fragment':
      return [plan.access];
    case 'union':
    case 'join':
      return plan.parts.flatMap(leavesOf);
    case 'empty':
      return [];
  }
}

function columnsOf(leaf: FragmentAccess): Column[] {
  return leaf.columns.map((c) => leaf.fragment.relation.columns.find((x) => x.name === c)!);
}

function describePredicate(a: RelationAccess): string {
  return renderSql(a.needs.predicate, { column: (v) => v.name });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * PostgreSQL's names for unnamed result columns (`count`, `sum`, `?column?`…), so a result reads
 * the same as on the central database; DuckDB names them after the expression text.
 */
function postgresNames(statement: Statement, duckNames: string[]): string[] {
  const select = (s: Statement): Statement | undefined =>
    s.type === 'select'
      ? s
      : s.type === 'with'
        ? select(s.in)
        : s.type === 'union' || s.type === 'union all'
          ? select(s.left)
          : undefined;
  const top = select(statement);
  if (!top || top.type !== 'select' || !top.columns) return duckNames;
  if (top.columns.length !== duckNames.length || top.columns.some((c) => c.expr.type === 'ref' && c.expr.name === '*'))
    return duckNames;
  return top.columns.map((c, i) => {
    if (c.alias) return c.alias.name;
    const e = c.expr;
    if (e.type === 'ref') return e.name;
    if (e.type === 'call') return e.function.name.toLowerCase();
    if (e.type === 'cast') {
      // PostgreSQL names `x::int` after x and `count(*)::int` after count; a cast literal after its type.
      if (e.operand.type === 'ref') return e.operand.name;
      if (e.operand.type === 'call') return e.operand.function.name.toLowerCase();
      return 'name' in e.to ? e.to.name : duckNames[i]!;
    }
    if (e.type === 'case') return 'case';
    if (e.type === 'extract') return 'extract';
    return '?column?';
  });
}
