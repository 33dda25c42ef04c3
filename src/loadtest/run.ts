/**
 * Running a workload: N virtual users share one distributed database, each runs `ops`
 * transactions drawn by weight from its own seeded random stream. A failed `expect:` refuses the
 * transaction (rolled back, counted as refused: a business rule said no); a retryable error
 * (deadlock, lock timeout, serialization failure, two-phase commit failure) is retried with
 * exponential backoff and jitter, up to `maxAttempts`; anything else is an error.
 */
import { UserError } from '../design/errors.js';
import { ExprError, type Scope, evaluate, explainValues } from './expr.js';
import { Random } from './random.js';
import type { Step, Transaction, Workload } from './workload.js';

/** What one statement returns (ddbkit's `execute` / `tx.query`). */
export interface StatementResult {
  command: string;
  columns: string[];
  rows: Array<Record<string, unknown>>;
  rowCount: number;
}

export interface TransactionHandle {
  query(sql: string, params?: unknown[]): Promise<StatementResult>;
}

/** The part of the distributed database a load test uses. */
export interface WriteDatabase {
  execute(sql: string, params?: unknown[]): Promise<StatementResult>;
  transaction<T>(fn: (tx: TransactionHandle) => Promise<T>): Promise<T>;
}

export interface RunOptions {
  users: number;
  ops: number;
  seed: number;
  isRetryable: (error: unknown) => boolean;
  /** Attempts per transaction before it is counted as aborted (default 10). */
  maxAttempts?: number;
  /** First backoff (default 5 ms), doubled on each retry up to `maxBackoffMs` (default 1 s), with full jitter. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Called after every finished transaction. */
  onProgress?: (done: number, total: number) => void;
}

/** A business rule refused the transaction (an `expect:` did not hold): rolled back, not an error. */
export class Refused extends Error {
  override name = 'Refused';
  constructor(readonly reason: string) {
    super(`refused: ${reason}`);
  }
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface TransactionStats {
  name: string;
  weight: number;
  committed: number;
  refused: number;
  /** Given up after `maxAttempts` retryable failures. */
  aborted: number;
  errors: number;
  retries: number;
  latency: LatencySummary;
}

export interface RunResult {
  users: number;
  ops: number;
  seed: number;
  seconds: number;
  /** Transactions run (users × ops, unless stopped early). */
  transactions: number;
  /** Why the run stopped before users × ops transactions. */
  stopped?: string;
  committed: number;
  refused: number;
  aborted: number;
  errors: number;
  retries: number;
  /** Committed transactions per second. */
  throughput: number;
  /** Latency of committed transactions, retries included (ms). */
  latency: LatencySummary;
  perTransaction: TransactionStats[];
  refusals: Array<{ transaction: string; reason: string; count: number }>;
  /** The first distinct error messages (at most 10), with counts. */
  errorSamples: Array<{ transaction: string; message: string; count: number }>;
  /** Rows inserted and deleted by committed transactions, per relation (for "nothing lost"). */
  written: Map<string, { inserted: number; deleted: number }>;
}

export function summarize(samples: number[]): LatencySummary {
  if (samples.length === 0) return { count: 0, mean: 0, p50: 0, p95: 0, p99: 0, max: 0 };
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  return {
    count: s.length,
    mean: s.reduce((a, b) => a + b, 0) / s.length,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: s[s.length - 1]!,
  };
}

/** Values drawn once for the whole run: the results of `query:` generators, the `sequence:` counters. */
export interface ParamPools {
  lists: Map<string, unknown[]>;
  sequences: Map<string, { next: number }>;
}

export async function preparePools(db: WriteDatabase, workload: Workload): Promise<ParamPools> {
  const lists = new Map<string, unknown[]>();
  const sequences = new Map<string, { next: number }>();
  for (const [name, g] of workload.params) {
    const where = `${workload.file}${g.line ? `:${g.line}` : ''}: parameter ${name}`;
    if (g.kind === 'query') {
      const r = await db.execute(g.sql).catch((e: unknown) => {
        throw new UserError(`${where}: its query failed: ${(e as Error).message}`, { cause: e });
      });
      const column = r.columns[0];
      if (!column) throw new UserError(`${where}: its query returns no column`);
      const values = r.rows.map((row) => row[column]).filter((v) => v !== null && v !== undefined);
      if (values.length === 0) throw new UserError(`${where}: its query returned no value`);
      // Sorted so that a seed draws the same values whatever order the sites answered in.
      values.sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a) < String(b) ? -1 : 1));
      lists.set(name, values);
    } else if (g.kind === 'sequence') {
      let start: number;
      if (typeof g.start === 'number') start = g.start;
      else {
        const r = await db.execute(g.start);
        const v = r.rows[0] ? r.rows[0][r.columns[0]!] : null;
        start = v === null || v === undefined ? 1 : Number(v) + 1;
        if (!Number.isFinite(start)) throw new UserError(`${where}: its query returned ${String(v)}, not a number`);
      }
      sequences.set(name, { next: start });
    }
  }
  return { lists, sequences };
}

function drawParam(workload: Workload, pools: ParamPools, name: string, rng: Random): unknown {
  const g = workload.params.get(name)!;
  switch (g.kind) {
    case 'int':
      return rng.int(g.lo, g.hi);
    case 'pick':
      return rng.pick(g.values);
    case 'query':
      return rng.pick(pools.lists.get(name)!);
    case 'date': {
      const from = Date.parse(`${g.from}T00:00:00Z`);
      const days = Math.round((Date.parse(`${g.to}T00:00:00Z`) - from) / 86_400_000);
      return new Date(from + rng.int(0, days) * 86_400_000).toISOString().slice(0, 10);
    }
    case 'sequence':
      return pools.sequences.get(name)!.next++;
  }
}

/** An error's first line, with transaction ids and numbers of the moment taken out, so that alike errors count together. */
export function errorKey(e: unknown): string {
  const message = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
  return message.replace(/\bddbkit_[0-9a-f]+_[0-9a-f]+\b/g, 'ddbkit_…');
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function refusedIn(e: unknown): Refused | undefined {
  for (let x = e, depth = 0; x && depth < 5; depth++) {
    if (x instanceof Refused) return x;
    x = (x as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The relation an INSERT or DELETE writes, for the "nothing lost" accounting. */
export function writtenRelation(sql: string): { relation: string; kind: 'insert' | 'delete' } | undefined {
  const m = /^\s*(insert\s+into|delete\s+from)\s+("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)/i.exec(sql);
  if (!m) return undefined;
  const name = m[2]!.startsWith('"') ? m[2]!.slice(1, -1).replace(/""/g, '"') : m[2]!.toLowerCase();
  return { relation: name, kind: /^insert/i.test(m[1]!) ? 'insert' : 'delete' };
}

function stepScope(result: StatementResult, vars: Map<string, unknown>): Scope {
  const first = result.rows[0];
  const column = (n: string): string | undefined => {
    if (!first) return undefined;
    if (n in first) return n;
    return Object.keys(first).find((k) => k.toLowerCase() === n.toLowerCase());
  };
  return {
    name: (n) => {
      const c = column(n);
      if (c !== undefined) return first![c] ?? null;
      if (n.toLowerCase() === 'rows') return result.rowCount;
      if (vars.has(n)) return vars.get(n) ?? null;
      // no row: a column condition cannot hold (`stock > 0` on a book that does not exist)
      if (!first && result.columns.some((c2) => c2.toLowerCase() === n.toLowerCase())) return null;
      return undefined;
    },
    param: (n) => (vars.has(n) ? (vars.get(n) ?? null) : undefined),
  };
}

function stepWhere(workload: Workload, tx: Transaction, step: Step): string {
  return `${workload.file}${step.line ? `:${step.line}` : ''} (${tx.name}, step ${tx.steps.indexOf(step) + 1})`;
}

/** Runs one transaction's steps inside `tx`; throws Refused when an `expect:` does not hold. */
async function runSteps(
  workload: Workload,
  t: Transaction,
  tx: TransactionHandle,
  drawn: Map<string, unknown>,
  written: Map<string, { inserted: number; deleted: number }>,
): Promise<void> {
  const vars = new Map(drawn);
  for (const step of t.steps) {
    const params = step.bound.names.map((n) => {
      if (!vars.has(n))
        throw new Error(
          `${stepWhere(workload, t, step)}: :${n} has no value (no parameter, no earlier column or set: of that name)`,
        );
      return vars.get(n);
    });
    const result = await tx.query(step.bound.sql, params);
    const w = writtenRelation(step.sql);
    if (w) {
      const entry = written.get(w.relation) ?? { inserted: 0, deleted: 0 };
      if (w.kind === 'insert') entry.inserted += result.rowCount;
      else entry.deleted += result.rowCount;
      written.set(w.relation, entry);
    }
    const scope = stepScope(result, vars);
    if (step.expect) {
      let ok: boolean;
      try {
        ok = evaluate(step.expect.expr, scope) === true;
      } catch (e) {
        if (e instanceof ExprError) throw new Error(`${stepWhere(workload, t, step)}: expect: ${e.message}`, { cause: e });
        throw e;
      }
      if (!ok) throw new Refused(step.refused ?? `${step.expect.text} (${explainValues(step.expect.expr, scope)})`);
    }
    const first = result.rows[0];
    if (first) for (const [k, v] of Object.entries(first)) vars.set(k, v);
    for (const s of step.set) {
      try {
        vars.set(s.name, evaluate(s.expr, scope));
      } catch (e) {
        if (e instanceof ExprError) throw new Error(`${stepWhere(workload, t, step)}: set ${s.name}: ${e.message}`, { cause: e });
        throw e;
      }
    }
  }
}

export async function runWorkload(
  db: WriteDatabase,
  workload: Workload,
  pools: ParamPools,
  options: RunOptions,
): Promise<RunResult> {
  const maxAttempts = options.maxAttempts ?? 10;
  const backoff = options.backoffMs ?? 5;
  const maxBackoff = options.maxBackoffMs ?? 1000;
  const total = options.users * options.ops;
  const totalWeight = workload.transactions.reduce((a, t) => a + t.weight, 0);
  const stats = new Map(
    workload.transactions.map((t) => [
      t.name,
      { committed: 0, refused: 0, aborted: 0, errors: 0, retries: 0, latencies: [] as number[] },
    ]),
  );
  const refusals = new Map<string, number>();
  const errors = new Map<string, number>();
  const written = new Map<string, { inserted: number; deleted: number }>();
  let done = 0;
  let stopped: string | undefined;

  const pickTransaction = (rng: Random): Transaction => {
    let x = rng.next() * totalWeight;
    for (const t of workload.transactions) {
      x -= t.weight;
      if (x < 0) return t;
    }
    return workload.transactions[workload.transactions.length - 1]!;
  };

  const user = async (index: number): Promise<void> => {
    const rng = new Random(options.seed * 1_000_003 + index);
    // a little stagger so that 100 users do not all open their first transaction in the same tick
    await sleep(rng.int(0, 5));
    for (let op = 0; op < options.ops && stopped === undefined; op++) {
      const t = pickTransaction(rng);
      const s = stats.get(t.name)!;
      const drawn = new Map<string, unknown>();
      for (const p of t.params) drawn.set(p, drawParam(workload, pools, p, rng));
      const started = performance.now();
      for (let attempt = 1; ; attempt++) {
        const mine = new Map<string, { inserted: number; deleted: number }>();
        try {
          await db.transaction((tx) => runSteps(workload, t, tx, drawn, mine));
          s.committed++;
          s.latencies.push(performance.now() - started);
          for (const [rel, w] of mine) {
            const e = written.get(rel) ?? { inserted: 0, deleted: 0 };
            e.inserted += w.inserted;
            e.deleted += w.deleted;
            written.set(rel, e);
          }
          break;
        } catch (e) {
          const refused = refusedIn(e);
          if (refused) {
            s.refused++;
            const key = `${t.name}\u0000${refused.reason}`;
            refusals.set(key, (refusals.get(key) ?? 0) + 1);
            break;
          }
          if (options.isRetryable(e)) {
            if (attempt < maxAttempts) {
              s.retries++;
              const cap = Math.min(maxBackoff, backoff * 2 ** (attempt - 1));
              await sleep(cap / 2 + rng.next() * (cap / 2));
              continue;
            }
            s.aborted++;
          } else s.errors++;
          const key = `${t.name}\u0000${errorKey(e)}`;
          if (errors.has(key) || errors.size < 10) errors.set(key, (errors.get(key) ?? 0) + 1);
          // A workload that cannot commit anything (a design the transactions cannot run on) stops
          // early rather than failing the same way users × ops times.
          const failed = [...stats.values()].reduce((a, x) => a + x.errors + x.aborted, 0);
          const committed = [...stats.values()].reduce((a, x) => a + x.committed, 0);
          if (committed === 0 && failed >= Math.max(10, options.users))
            stopped ??= `every transaction failed (${failed} so far, none committed)`;
          break;
        }
      }
      done++;
      options.onProgress?.(done, total);
    }
  };

  const t0 = performance.now();
  await Promise.all(Array.from({ length: options.users }, (_, i) => user(i)));
  const seconds = (performance.now() - t0) / 1000;

  const perTransaction: TransactionStats[] = workload.transactions.map((t) => {
    const s = stats.get(t.name)!;
    return {
      name: t.name,
      weight: t.weight,
      committed: s.committed,
      refused: s.refused,
      aborted: s.aborted,
      errors: s.errors,
      retries: s.retries,
      latency: summarize(s.latencies),
    };
  });
  const sum = (k: 'committed' | 'refused' | 'aborted' | 'errors' | 'retries') => perTransaction.reduce((a, t) => a + t[k], 0);
  const committed = sum('committed');
  return {
    users: options.users,
    ops: options.ops,
    seed: options.seed,
    seconds,
    transactions: done,
    ...(stopped ? { stopped } : {}),
    committed,
    refused: sum('refused'),
    aborted: sum('aborted'),
    errors: sum('errors'),
    retries: sum('retries'),
    throughput: seconds > 0 ? committed / seconds : 0,
    latency: summarize([...stats.values()].flatMap((s) => s.latencies)),
    perTransaction,
    refusals: [...refusals.entries()]
      .map(([k, count]) => {
        const [transaction, reason] = k.split('\u0000') as [string, string];
        return { transaction, reason, count };
      })
      .sort((a, b) => b.count - a.count),
    errorSamples: [...errors.entries()].map(([k, count]) => {
      const [transaction, message] = k.split('\u0000') as [string, string];
      return { transaction, message, count };
    }),
    written,
  };
}
