/**
 * What is checked after a run: the workload's invariants (queries that must return no row, or
 * meet their `expect:`), "nothing lost" (every relation the workload writes holds exactly its rows
 * before the run plus the rows committed transactions inserted, minus those they deleted, read
 * through the rebuilt global relation), and "replicas identical" (every replica of every
 * replicated fragment has the same row count and checksum).
 */
import type { ResolvedDesign } from '../design/resolve.js';
import { deploymentStatus } from '../deploy/status.js';
import { type Scope, evaluate, explainValues } from './expr.js';
import type { RunResult, StatementResult, WriteDatabase } from './run.js';
import { writtenRelation } from './run.js';
import type { Invariant, Workload } from './workload.js';

export interface CheckResult {
  kind: 'invariant' | 'nothing-lost' | 'replicas';
  name: string;
  ok: boolean;
  detail: string;
  /** A few offending rows. */
  rows?: Array<Record<string, unknown>>;
}

/** Runs the invariants whose expect reads `before.…`, before the run: their first row. */
export async function invariantsBefore(db: WriteDatabase, workload: Workload): Promise<Map<Invariant, Record<string, unknown>>> {
  const out = new Map<Invariant, Record<string, unknown>>();
  for (const inv of workload.invariants.filter((i) => i.needsBefore)) {
    const r = await db.execute(inv.sql);
    out.set(inv, r.rows[0] ?? {});
  }
  return out;
}

function jsonSafe(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v instanceof Date ? v.toISOString() : v]),
  );
}

function findKey(row: Record<string, unknown> | undefined, n: string): string | undefined {
  if (!row) return undefined;
  if (n in row) return n;
  return Object.keys(row).find((k) => k.toLowerCase() === n.toLowerCase());
}

export async function checkInvariants(
  db: WriteDatabase,
  workload: Workload,
  run: RunResult,
  before: Map<Invariant, Record<string, unknown>>,
): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const inv of workload.invariants) {
    let r: StatementResult;
    try {
      r = await db.execute(inv.sql);
    } catch (e) {
      out.push({ kind: 'invariant', name: inv.name, ok: false, detail: `its query failed: ${(e as Error).message}` });
      continue;
    }
    if (!inv.expect) {
      const ok = r.rows.length === 0;
      out.push({
        kind: 'invariant',
        name: inv.name,
        ok,
        detail: ok
          ? 'no row breaks it'
          : `${r.rows.length} row${r.rows.length === 1 ? '' : 's'} break${r.rows.length === 1 ? 's' : ''} it`,
        ...(ok ? {} : { rows: r.rows.slice(0, 5).map(jsonSafe) }),
      });
      continue;
    }
    const first = r.rows[0];
    const prior = before.get(inv);
    const tx = (name: string) => run.perTransaction.find((t) => t.name === name);
    const scope: Scope = {
      name: (n) => {
        const [head, tail] = n.split('.') as [string, string | undefined];
        if (tail !== undefined) {
          const h = head.toLowerCase();
          if (h === 'before') {
            const k = findKey(prior, tail);
            return k === undefined ? undefined : (prior![k] ?? null);
          }
          const t = tx(tail);
          if (!t) return undefined;
          return h === 'committed' ? t.committed : h === 'refused' ? t.refused : h === 'aborted' ? t.aborted : undefined;
        }
        const k = findKey(first, n);
        if (k !== undefined) return first![k] ?? null;
        if (n.toLowerCase() === 'rows') return r.rows.length;
        if (n.toLowerCase() === 'committed') return run.committed;
        return first ? undefined : null;
      },
      param: () => undefined,
    };
    let ok: boolean;
    let detail: string;
    try {
      ok = evaluate(inv.expect.expr, scope) === true;
      detail = `${inv.expect.text}: ${explainValues(inv.expect.expr, scope)}`;
    } catch (e) {
      ok = false;
      detail = `${inv.expect.text}: ${(e as Error).message}`;
    }
    out.push({ kind: 'invariant', name: inv.name, ok, detail });
  }
  return out;
}

/** The relations the workload inserts into or deletes from. */
export function writtenRelations(workload: Workload): string[] {
  const names = new Set<string>();
  for (const t of workload.transactions)
    for (const s of t.steps) {
      const w = writtenRelation(s.sql);
      if (w) names.add(w.relation);
    }
  return [...names].sort();
}

const quote = (n: string) => (/^[a-z_][a-z0-9_]*$/.test(n) ? n : `"${n.replace(/"/g, '""')}"`);

export async function countRows(db: WriteDatabase, relations: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const rel of relations) {
    const r = await db.execute(`SELECT count(*) AS n FROM ${quote(rel)}`);
    const row = r.rows[0]!;
    out.set(rel, Number(row[findKey(row, 'n') ?? r.columns[0]!]));
  }
  return out;
}

export function checkNothingLost(before: Map<string, number>, after: Map<string, number>, run: RunResult): CheckResult[] {
  return [...before.keys()].map((rel) => {
    const w = run.written.get(rel) ?? { inserted: 0, deleted: 0 };
    const b = before.get(rel)!;
    const a = after.get(rel)!;
    const expected = b + w.inserted - w.deleted;
    const parts = [`${b.toLocaleString('en')} before`];
    if (w.inserted) parts.push(`+ ${w.inserted.toLocaleString('en')} inserted`);
    if (w.deleted) parts.push(`− ${w.deleted.toLocaleString('en')} deleted`);
    return {
      kind: 'nothing-lost',
      name: `nothing lost: ${rel}`,
      ok: a === expected,
      detail: `${a.toLocaleString('en')} rows ${a === expected ? '=' : '≠'} ${parts.join(' ')}${parts.length > 1 ? ' by committed transactions' : ' (no committed transaction wrote it)'}${a === expected ? '' : ` (expected ${expected.toLocaleString('en')})`}`,
    };
  });
}

/** Replicas of every replicated fragment compared by row count and checksum (the sites are opened anew). */
export async function checkReplicas(resolved: ResolvedDesign, sitesDir: string): Promise<CheckResult[]> {
  const status = await deploymentStatus(resolved, sitesDir);
  return status.replicas.map((r) => ({
    kind: 'replicas' as const,
    name: `replicas identical: ${r.fragment}`,
    ok: r.inStep,
    detail: `${r.sites.join(', ')}: ${r.detail}`,
  }));
}
