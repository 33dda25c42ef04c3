/**
 * Joins across sites, chosen by a cost model fed with the sites' statistics (rows per fragment,
 * stats.ts) and textbook selectivities for the conditions pushed to each fragment.
 *
 * For an inner equi-join between two relations (each read by that one reference), two ways:
 * - ship: fetch both reduced relations whole and join them in the coordinator;
 * - semijoin: fetch the small side first, then ship its distinct join keys to the other side's
 *   sites as an IN list, so that only rows that can join travel. Chosen when the small side is
 *   expected to have few keys and the rows saved outweigh the keys sent and the extra round.
 * The choice is re-checked when it runs: if the small side turns out to have too many keys, the
 * other side is fetched whole (EXPLAIN ANALYZE says so). An empty key set asks nothing of the
 * other side's sites. Reducing is always correct: rows left out have a join key no row of the
 * small side has (NULL included), so the inner join cannot produce them.
 *
 * - broadcast: when the query groups and the sites could aggregate it by slices but for one
 *   relation that does not follow the slices (customer against orders split by their own region),
 *   that relation's few rows are fetched first and sent to every slice as an inline table, so the
 *   sites join and pre-aggregate (staged.ts, planBroadcast). For a query that does not aggregate,
 *   broadcasting sends back the same rows a semijoin would, so it is only costed.
 */
import type { Expr, Statement } from 'pgsql-ast-parser';
import type { Column } from '../catalog/types.js';
import type { Predicate } from '../predicate/index.js';
import type { FragmentAccess, ReducedPlan, RelationAccess } from './localize.js';
import type { Statistics } from './stats.js';
import { type Node, conjuncts, walk } from './syntax.js';

/** At most this many keys are planned for a semijoin; at run time up to `RUNTIME_KEY_LIMIT`. */
export const PLANNED_KEY_LIMIT = 2000;
export const RUNTIME_KEY_LIMIT = 5000;
/** A key sent costs about as much as half a row fetched; a second round about as much as 500 rows. */
const KEY_COST = 0.5;
const ROUND_COST = 500;

export interface JoinCandidate {
  left: { access: RelationAccess; column: Column };
  right: { access: RelationAccess; column: Column };
}

export interface JoinChoice {
  /** `orders.customer_id = customer.customer_id` */
  on: string;
  strategy: 'semijoin' | 'ship' | 'broadcast' | 'co-located';
  /** With a semijoin: the relation fetched first, whose keys reduce the other. */
  reducer?: string;
  reduced?: string;
  estimated: {
    /** Rows each side is expected to send (after its pushed conditions). */
    rows: Record<string, number>;
    /** Rows the reduced side is expected to send after the semijoin. */
    reduced_rows?: number;
    /** The cost of each way, in rows moved (keys count half, a second round 500). */
    cost: { ship: number; semijoin?: number; broadcast?: number };
  };
  /** With analyze: keys shipped, and whether the semijoin ran (false: too many keys, shipped). */
  actual?: { keys: number; applied: boolean; rows: number };
  reason: string;
}

export interface Semijoin {
  reducer: RelationAccess;
  reducerColumn: Column;
  reduced: RelationAccess;
  reducedColumn: Column;
  choice: JoinChoice;
}

export function leavesOf(p: ReducedPlan): FragmentAccess[] {
  if (p.kind === 'fragment') return [p.access];
  if (p.kind === 'union' || p.kind === 'join') return p.parts.flatMap(leavesOf);
  return [];
}

/** Inner equi-joins between two relations each read once, in any SELECT block of the query. */
export function joinCandidates(statement: Statement, accesses: RelationAccess[]): JoinCandidate[] {
  const out: JoinCandidate[] = [];
  // A name bound by WITH is not the global relation of the same name.
  const cteNames = new Set<string>();
  walk(statement, (n) => {
    if ((n.type === 'with' || n.type === 'with recursive') && Array.isArray(n.bind))
      for (const b of n.bind as Array<{ alias: { name: string } }>) cteNames.add(b.alias.name.toLowerCase());
  });
  walk(statement, (n) => {
    if (n.type !== 'select' || !Array.isArray(n.from)) return;
    const items: Array<{ alias: string; access?: RelationAccess; inner: boolean; on?: Expr }> = [];
    for (const from of n.from as Node[]) {
      const join = from.join as { type?: string; on?: Expr } | undefined;
      const type = join?.type ?? 'INNER JOIN';
      let item: { alias: string; access?: RelationAccess; inner: boolean; on?: Expr };
      if (from.type === 'table') {
        const name = from.name as { name: string; alias?: string };
        const access = cteNames.has(name.name.toLowerCase())
          ? undefined
          : accesses.find((a) => a.relation.relation.name.toLowerCase() === name.name.toLowerCase());
        item = { alias: (name.alias ?? name.name).toLowerCase(), ...(access ? { access } : {}), inner: true };
      } else item = { alias: '', inner: true };
      if (type === 'LEFT JOIN' || type === 'FULL JOIN') item.inner = false;
      if (type === 'RIGHT JOIN' || type === 'FULL JOIN') for (const prev of items) prev.inner = false;
      if (type === 'INNER JOIN' && join?.on) item.on = join.on;
      items.push(item);
    }
    const opaque = items.some((i) => !i.access);
    const resolve = (e: Expr) => {
      if (e.type !== 'ref' || e.name === '*') return undefined;
      const qualifier = e.table?.name.toLowerCase();
      const owners = items.filter((i) =>
        qualifier
          ? i.alias === qualifier
          : !opaque && i.access?.relation.relation.columns.some((c) => c.name.toLowerCase() === e.name.toLowerCase()),
      );
      const owner = owners.length === 1 ? owners[0] : undefined;
      const column = owner?.access?.relation.relation.columns.find((c) => c.name.toLowerCase() === e.name.toLowerCase());
      return owner && column && owner.inner ? { owner, access: owner.access!, column } : undefined;
    };
    for (const c of [...conjuncts(n.where as Expr | undefined), ...items.flatMap((i) => conjuncts(i.on))]) {
      if (c.type !== 'binary' || c.op !== '=') continue;
      const a = resolve(c.left);
      const b = resolve(c.right);
      if (!a || !b || a.owner === b.owner || a.access === b.access) continue;
      if (a.access.needs.references !== 1 || b.access.needs.references !== 1) continue;
      out.push({ left: { access: a.access, column: a.column }, right: { access: b.access, column: b.column } });
    }
  });
  return out;
}

/**
 * System R's default selectivities, with the key's own: `pk = v` selects one row, and a range on
 * an integer key is measured against the fragment's smallest and largest key when known.
 */
function selectivity(p: Predicate | undefined, rows: number, pk: string[], range?: [number, number]): number {
  if (!p) return 1;
  const one = pk.length === 1 ? 1 / Math.max(1, rows) : 0.1;
  const isKey = (name: string) => pk.length === 1 && pk[0] === name;
  const within = (v: number, op: string): number | undefined => {
    if (!range) return undefined;
    const [lo, hi] = range;
    const span = Math.max(1, hi - lo + 1);
    const below = Math.min(1, Math.max(0, (v - lo) / span));
    return op === '<' || op === '<=' ? below : 1 - below;
  };
  switch (p.kind) {
    case 'const':
      return p.value === true ? 1 : 0;
    case 'compare': {
      if (p.op === '=') return isKey(p.variable.name) ? one : 0.1;
      if (p.op === '<>') return 0.9;
      const measured = isKey(p.variable.name) && typeof p.value === 'bigint' ? within(Number(p.value), p.op) : undefined;
      return measured ?? 1 / 3;
    }
    case 'in': {
      const s = Math.min(1, p.values.length * (isKey(p.variable.name) ? one : 0.1));
      return p.negated ? 1 - s : s;
    }
    case 'between': {
      const measured =
        isKey(p.variable.name) && range && typeof p.low === 'bigint' && typeof p.high === 'bigint'
          ? Math.max(0, (within(Number(p.high), '<=') ?? 0) - (within(Number(p.low), '<') ?? 0))
          : undefined;
      const s = measured ?? 0.25;
      return p.negated ? 1 - s : s;
    }
    case 'isNull':
      return p.negated ? 0.9 : 0.1;
    case 'column':
      return 0.5;
    case 'is':
      return 0.5;
    case 'and':
      return p.args.reduce((s, a) => s * selectivity(a, rows, pk, range), 1);
    case 'or':
      return 1 - p.args.reduce((s, a) => s * (1 - selectivity(a, rows, pk, range)), 1);
    case 'not':
      return 1 - selectivity(p.arg, rows, pk, range);
  }
}

/** Rows a fragment access is expected to return: its fragment's rows × its filter's selectivity. */
/** Rows a relation's reduced plan is expected to return. */
export function estimateAccess(a: RelationAccess, stats: Statistics): number {
  return leavesOf(a.plan).reduce((n, l) => n + estimateLeaf(l, stats), 0);
}

export function estimateLeaf(leaf: FragmentAccess, stats: Statistics): number {
  const rows = stats.fragments[leaf.fragment.name] ?? 1000;
  const range = stats.keyRanges?.[leaf.fragment.name];
  return Math.max(0, Math.round(rows * selectivity(leaf.filter, rows, leaf.fragment.relation.primaryKey, range)));
}

/** Rows of a relation (one vertical column group's fragments). */
function relationRows(access: RelationAccess, stats: Statistics): number {
  const groups = new Map<string, number>();
  for (const f of access.relation.fragments) {
    const key = [...f.columns].sort().join(',');
    groups.set(key, (groups.get(key) ?? 0) + (stats.fragments[f.name] ?? 0));
  }
  return Math.max(1, ...groups.values());
}

/**
 * Costs every candidate join, both ways round, and picks semijoins greedily by the rows they save:
 * a relation is reduced once at most, and a reducer is never itself reduced (one extra round).
 */
export function chooseJoins(candidates: JoinCandidate[], stats: Statistics): { choices: JoinChoice[]; semijoins: Semijoin[] } {
  const estimate = (a: RelationAccess) => leavesOf(a.plan).reduce((n, l) => n + estimateLeaf(l, stats), 0);
  const keyFamilies = new Set(['integer', 'text']);
  const options: Array<Semijoin & { saving: number }> = [];
  const choices: JoinChoice[] = [];
  for (const c of candidates) {
    const name = (s: { access: RelationAccess; column: Column }) => `${s.access.relation.relation.name}.${s.column.name}`;
    const on = `${name(c.left)} = ${name(c.right)}`;
    const rows = {
      [c.left.access.relation.relation.name]: estimate(c.left.access),
      [c.right.access.relation.relation.name]: estimate(c.right.access),
    };
    const ship = Object.values(rows).reduce((a, b) => a + b, 0);
    let best: (Semijoin & { saving: number; cost: number; after: number }) | undefined;
    let broadcast: number | undefined;
    for (const [small, big] of [
      [c.left, c.right],
      [c.right, c.left],
    ] as const) {
      const s = rows[small.access.relation.relation.name]!;
      const b = rows[big.access.relation.relation.name]!;
      const total = relationRows(small.access, stats);
      const sPk = small.access.relation.relation.primaryKey;
      const bPk = big.access.relation.relation.primaryKey;
      const fraction =
        bPk.length === 1 && bPk[0] === big.column.name && !(sPk.length === 1 && sPk[0] === small.column.name)
          ? Math.min(1, s / Math.max(1, b))
          : Math.min(1, s / total);
      const after = Math.round(b * fraction);
      const sites = new Set(leavesOf(big.access.plan).map((l) => l.site.name)).size;
      const cost = Math.round(s + KEY_COST * s * sites + ROUND_COST + after);
      broadcast = Math.min(broadcast ?? Infinity, Math.round(s * sites + after));
      if (!keyFamilies.has(small.column.type.family) || small.column.type.family !== big.column.type.family) continue;
      if (s > PLANNED_KEY_LIMIT || cost >= ship) continue;
      if (!best || ship - cost > best.saving) {
        best = {
          reducer: small.access,
          reducerColumn: small.column,
          reduced: big.access,
          reducedColumn: big.column,
          saving: ship - cost,
          cost,
          after,
          choice: undefined as unknown as JoinChoice,
        };
      }
    }
    const choice: JoinChoice = {
      on,
      strategy: best ? 'semijoin' : 'ship',
      ...(best ? { reducer: best.reducer.relation.relation.name, reduced: best.reduced.relation.relation.name } : {}),
      estimated: {
        rows,
        ...(best ? { reduced_rows: best.after } : {}),
        cost: { ship, ...(best ? { semijoin: best.cost } : {}), ...(broadcast !== undefined ? { broadcast } : {}) },
      },
      reason: best
        ? `${best.reducer.relation.relation.name} is small (est. ${rows[best.reducer.relation.relation.name]} rows): its keys cut ${best.reduced.relation.relation.name} from est. ${rows[best.reduced.relation.relation.name]} to ${best.after} rows`
        : 'neither side is small enough for its keys to pay off: both shipped whole',
    };
    choices.push(choice);
    if (best) options.push({ ...best, choice });
  }
  const semijoins: Semijoin[] = [];
  for (const o of options.sort((a, b) => b.saving - a.saving)) {
    const conflict = semijoins.some((s) => s.reduced === o.reduced || s.reduced === o.reducer || s.reducer === o.reduced);
    if (conflict) {
      o.choice.strategy = 'ship';
      o.choice.reason = `a semijoin would pay off, but ${o.reduced.relation.relation.name} or ${o.reducer.relation.relation.name} already takes part in a cheaper one`;
      delete o.choice.reducer;
      delete o.choice.reduced;
      continue;
    }
    semijoins.push(o);
  }
  return { choices, semijoins };
}
