/**
 * Plans the coordinator runs in stages rather than "fetch everything, then run": aggregation below
 * a LEFT JOIN (eager.ts) and semijoin reductions (joins.ts). `planStaged` decides, `describeStaged`
 * writes the decision into the EXPLAIN plan, `runStaged` runs it.
 */
import type { Statement } from 'pgsql-ast-parser';
import type { Column } from '../catalog/types.js';
import type { SiteConnector } from '../engines/connector.js';
import { dialectFor } from '../engines/dialect-registry.js';
import type { Key } from '../predicate/index.js';
import type { Coordinator } from './coordinator.js';
import { EAGER_TABLE, type EagerAggregation, planEagerAggregation } from './eager.js';
import { fetchFailure } from './errors.js';
import {
  type JoinCandidate,
  type JoinChoice,
  RUNTIME_KEY_LIMIT,
  type Semijoin,
  chooseJoins,
  estimateAccess,
  estimateLeaf,
  joinCandidates,
  leavesOf,
} from './joins.js';
import { type FragmentAccess, type RelationAccess, accessSql } from './localize.js';
import { type SlicePushdown, type SliceQuery, broadcastMark, planSlicePushdown } from './pushdown.js';
import type { SiteSpec } from '../design/schema.js';
import type { Statistics } from './stats.js';
import { batchesOf, readAhead } from '../util/async.js';
export { readAhead };

/** What distributed.ts's plan looks like, as far as this module fills it in. */
export interface PlanView {
  site_queries: Array<{ site: string; fragments: string[]; sql: string; rows?: number; ms?: number; estimated_rows?: number }>;
  coordinator: { engine: 'duckdb'; steps: string[] };
  joins?: JoinChoice[];
  timings?: { fetch_ms: number; rebuild_ms: number; execute_ms: number; total_ms: number };
}

export interface ReadUse {
  use<T>(site: string, fn: (connector: SiteConnector) => Promise<T>): Promise<T>;
}

export type StagedPlan =
  | { kind: 'eager'; eager: EagerAggregation; accesses: RelationAccess[] }
  | { kind: 'semijoin'; accesses: RelationAccess[]; semijoins: Semijoin[]; choices: JoinChoice[]; stats: Statistics }
  /** A grouping query run by slices, one relation's rows sent to every slice first. */
  | { kind: 'broadcast'; accesses: RelationAccess[]; pushdown: SlicePushdown; choices: JoinChoice[]; stats: Statistics }
  /** Nothing staged: the joins are shipped; only the plan's description changes. */
  | { kind: 'ship'; accesses: RelationAccess[]; choices: JoinChoice[]; stats: Statistics };

/** At most this many rows are planned for a broadcast; at run time up to `RUNTIME_BROADCAST_LIMIT`. */
export const PLANNED_BROADCAST_LIMIT = 1000;
export const RUNTIME_BROADCAST_LIMIT = 3000;

export async function planStaged(
  sql: string,
  statement: Statement,
  accesses: RelationAccess[],
  statistics: () => Promise<Statistics>,
): Promise<StagedPlan | undefined> {
  const eager = planEagerAggregation(sql, statement, accesses);
  if (eager) return { kind: 'eager', eager, accesses };
  const candidates = joinCandidates(statement, accesses);
  if (candidates.length === 0) return undefined;
  let stats: Statistics;
  try {
    stats = await statistics();
  } catch {
    return undefined; // no statistics, no cost model: everything shipped as before
  }
  const { choices, semijoins } = chooseJoins(candidates, stats);
  const broadcast = planBroadcast(sql, statement, accesses, candidates, stats, choices);
  if (broadcast) return broadcast;
  return semijoins.length
    ? { kind: 'semijoin', accesses, semijoins, choices, stats }
    : { kind: 'ship', accesses, choices, stats };
}

/**
 * Broadcast: a grouping query that slice pushdown cannot run only because one relation does not
 * follow the slices; if that relation is small (statistics), its rows are sent to every slice.
 * Inline rows are typed by their literals, so only NOT NULL integer and text columns are sent.
 */
function planBroadcast(
  sql: string,
  statement: Statement,
  accesses: RelationAccess[],
  candidates: JoinCandidate[],
  stats: Statistics,
  choices: JoinChoice[],
): StagedPlan | undefined {
  const sendable = (a: RelationAccess) =>
    a.relation.relation.columns
      .filter((c) => a.needs.columns.has(c.name))
      .every((c) => !c.nullable && (c.type.family === 'integer' || c.type.family === 'text'));
  const small = [...new Set(candidates.flatMap((c) => [c.left.access, c.right.access]))]
    .map((a) => ({ access: a, rows: estimateAccess(a, stats) }))
    .filter((x) => x.rows <= PLANNED_BROADCAST_LIMIT && sendable(x.access))
    .sort((a, b) => a.rows - b.rows);
  const ship = accesses.reduce((n, a) => n + estimateAccess(a, stats), 0);
  for (const { access, rows } of small) {
    const name = access.relation.relation.name;
    const pushdown = planSlicePushdown(sql, statement, accesses, { broadcast: new Set([name]) });
    if (!pushdown) continue;
    const cost = rows + rows * pushdown.slices.length + ROUND_COST_ROWS;
    if (cost >= ship) continue;
    for (const c of choices.filter((x) => x.on.split(' = ').some((side) => side.startsWith(`${name}.`)))) {
      c.strategy = 'broadcast';
      c.estimated.cost.broadcast = cost;
      c.estimated.cost.ship = ship;
      delete c.reducer;
      delete c.reduced;
      delete c.estimated.reduced_rows;
      c.reason = `${name} is small (est. ${rows} rows) and the rest follows the slices: ${name} is sent to the ${pushdown.slices.length} slice${pushdown.slices.length === 1 ? '' : 's'}, which join and pre-aggregate (est. ${ship} rows if everything were shipped)`;
    }
    for (const c of choices.filter((x) => x.strategy !== 'broadcast')) {
      c.strategy = 'co-located';
      c.reason = 'both sides follow the slices: joined at the sites, within each slice';
    }
    return { kind: 'broadcast', accesses, pushdown, choices, stats };
  }
  return undefined;
}

const ROUND_COST_ROWS = 500;

const broadcastText = (sql: string, pushdown: SlicePushdown) =>
  (pushdown.broadcast ?? []).reduce(
    (text, b) => text.replace(broadcastMark(b.access.relation.relation.name), `(…rows of ${b.access.relation.relation.name})`),
    sql,
  );

const keysPlaceholder = (s: Semijoin) => `(…keys of ${s.reducer.relation.relation.name}.${s.reducerColumn.name})`;

export function describeStaged(plan: PlanView, staged: StagedPlan): void {
  if (staged.kind === 'broadcast') {
    const { pushdown } = staged;
    const sent = pushdown.broadcast!.map((b) => b.access);
    plan.site_queries = [
      ...sent.flatMap((a) =>
        leavesOf(a.plan).map((l) => ({
          site: l.site.name,
          fragments: [l.fragment.name],
          sql: l.sql,
          estimated_rows: estimateLeaf(l, staged.stats),
        })),
      ),
      ...pushdown.slices.map((x) => ({ site: x.site.name, fragments: x.fragments, sql: broadcastText(x.sql, pushdown) })),
    ];
    plan.joins = staged.choices;
    plan.coordinator.steps = [
      ...sent.map(
        (a) =>
          `broadcast ${a.relation.relation.name}: fetched first from ${leavesOf(a.plan)
            .map((l) => l.fragment.name)
            .join(', ')}, then sent to every slice as an inline table`,
      ),
      ...staged.choices.map((c) => `join ${c.on}: ${c.strategy} — ${c.reason}`),
      `combine the partial groups of ${pushdown.slices.length} slice${pushdown.slices.length === 1 ? '' : 's'} (joins with the broadcast rows and partial aggregates ran at the sites)`,
      `run: ${pushdown.rewritten.replace(/\s+/g, ' ').trim()}`,
    ];
    return;
  }
  if (staged.kind === 'eager') {
    const { eager } = staged;
    const preserved = leavesOf(eager.preserved.plan);
    plan.site_queries = [
      ...preserved.map((l) => ({ site: l.site.name, fragments: [l.fragment.name], sql: l.sql })),
      ...eager.inner.slices.map((s) => ({ site: s.site.name, fragments: s.fragments, sql: s.sql })),
    ];
    const joined = staged.accesses.filter((a) => a !== eager.preserved).map((a) => a.relation.relation.name);
    plan.coordinator.steps = [
      `rebuild ${eager.preserved.relation.relation.name} from ${preserved.map((l) => l.fragment.name).join(', ') || 'no fragment (empty)'}`,
      `aggregation below the LEFT JOIN: ${joined.join(', ')} aggregated per join key at the sites (${eager.inner.slices.length} slice${eager.inner.slices.length === 1 ? '' : 's'}): ${eager.innerSql}`,
      `combine the partial groups into ${EAGER_TABLE} and run: ${eager.rewritten.replace(/\s+/g, ' ').trim()}`,
    ];
    return;
  }
  const estimates = new Map<FragmentAccess, number>();
  for (const a of staged.accesses) for (const l of leavesOf(a.plan)) estimates.set(l, estimateLeaf(l, staged.stats));
  for (const q of plan.site_queries) {
    const leaf = [...estimates.keys()].find(
      (l) => l.site.name === q.site && l.fragment.name === q.fragments[0] && l.sql === q.sql,
    );
    if (leaf) q.estimated_rows = estimates.get(leaf)!;
  }
  plan.joins = staged.choices;
  const steps = staged.choices.map(
    (c) =>
      `join ${c.on}: ${c.strategy}${c.strategy === 'semijoin' ? ` (fetch ${c.reducer} first, then ${c.reduced} WHERE ${c.on.split(' = ').find((x) => x.startsWith(`${c.reduced}.`))} IN its keys)` : ''} — est. rows ${Object.entries(
        c.estimated.rows,
      )
        .map(([r, n]) => `${r} ${n}`)
        .join(
          ', ',
        )}${c.estimated.reduced_rows !== undefined ? ` → ${c.reduced} ${c.estimated.reduced_rows}` : ''}; cost ship ${c.estimated.cost.ship}${c.estimated.cost.semijoin !== undefined ? `, semijoin ${c.estimated.cost.semijoin}` : ''}${c.estimated.cost.broadcast !== undefined ? `, broadcast ${c.estimated.cost.broadcast} (runs only for a grouping query the slices can then aggregate)` : ''}; ${c.reason}${c.actual ? ` — actual: ${c.actual.applied ? `${c.actual.keys} keys shipped, ${c.actual.rows} rows fetched` : `${c.actual.keys}+ keys, too many: shipped whole (${c.actual.rows} rows)`}` : ''}`,
  );
  plan.coordinator.steps = [...steps, ...plan.coordinator.steps.filter((x) => !x.startsWith('join '))];
  if (staged.kind === 'semijoin') {
    for (const s of staged.semijoins) {
      for (const leaf of leavesOf(s.reduced.plan)) {
        const q = plan.site_queries.find(
          (x) => x.site === leaf.site.name && x.fragments[0] === leaf.fragment.name && x.sql === leaf.sql,
        );
        if (q && leaf.fragment.columns.includes(s.reducedColumn.name))
          q.sql = accessSql({
            ...leaf,
            where: [
              ...leaf.where,
              `${dialectFor(leaf.site.engine).quoteIdentifier(s.reducedColumn.name)} IN ${keysPlaceholder(s)}`,
            ],
          });
      }
    }
  }
}

const round1 = (ms: number) => Math.round(ms * 10) / 10;

function columnsOf(leaf: FragmentAccess): Column[] {
  return leaf.columns.map((c) => leaf.fragment.relation.columns.find((x) => x.name === c)!);
}

/** Fetches fragment accesses into new coordinator tables: sites in parallel, each site's in turn. */
async function fetchLeaves(
  leaves: FragmentAccess[],
  coordinator: Coordinator,
  reads: ReadUse,
  record: (leaf: FragmentAccess, rows: number, ms: number) => void,
): Promise<Map<FragmentAccess, string>> {
  const tables = new Map<FragmentAccess, string>();
  const bySite = new Map<string, FragmentAccess[]>();
  for (const leaf of leaves) bySite.set(leaf.site.name, [...(bySite.get(leaf.site.name) ?? []), leaf]);
  // Empty (skipped) accesses get their table without asking the site.
  for (const leaf of leaves.filter((l) => l.skip)) tables.set(leaf, await coordinator.createFragmentTable(columnsOf(leaf)));
  await Promise.all(
    [...bySite.entries()].map(([siteName, list]) => {
      const asked = list.filter((l) => !l.skip);
      if (asked.length === 0) return Promise.resolve();
      return reads.use(siteName, async (connector) => {
        for (const leaf of asked) {
          const started = performance.now();
          const columns = columnsOf(leaf);
          const table = await coordinator.createFragmentTable(columns);
          tables.set(leaf, table);
          try {
            const rows = await coordinator.load(
              table,
              columns,
              readAhead(
                connector.stream(
                  leaf.sql,
                  5000,
                  columns.map((c) => c.type),
                ),
                8,
              ),
            );
            record(leaf, rows, performance.now() - started);
          } catch (e) {
            throw fetchFailure(e, leaf.fragment.name, siteName);
          }
        }
      });
    }),
  );
  return tables;
}

async function loadSlices(
  table: string,
  columns: Column[],
  slices: SliceQuery[],
  coordinator: Coordinator,
  reads: ReadUse,
  record: (slice: SliceQuery, rows: number, ms: number) => void,
): Promise<void> {
  const types = columns.map((c) => c.type);
  const bySite = new Map<string, SliceQuery[]>();
  for (const s of slices) bySite.set(s.site.name, [...(bySite.get(s.site.name) ?? []), s]);
  await Promise.all(
    [...bySite.entries()].map(([siteName, list]) =>
      reads.use(siteName, async (connector) => {
        for (const slice of list) {
          const started = performance.now();
          // Partial groups are few next to the rows they stand for: read whole, in one round trip.
          const read = await connector.readAll(slice.sql, types);
          const rows = await coordinator.load(table, columns, batchesOf(read, 5000));
          record(slice, rows, performance.now() - started);
        }
      }),
    ),
  );
}

/** Rows as an inline table in the site's dialect (VALUES, or UNION ALL on MariaDB). */
function inlineTable(engine: SiteSpec['engine'], columns: Column[], rows: unknown[][]): string {
  const dialect = dialectFor(engine);
  const q = (n: string) => dialect.quoteIdentifier(n);
  const literal = (c: Column, v: unknown) => {
    const key = keyOf(c, v);
    return key === undefined ? 'NULL' : dialect.literal(c.type, key);
  };
  if (engine === 'mariadb' || engine === 'mysql')
    return `(${rows
      .map(
        (r, j) =>
          `SELECT ${columns.map((c, i) => (j === 0 ? `${literal(c, r[i])} AS ${q(c.name)}` : literal(c, r[i]))).join(', ')}`,
      )
      .join(' UNION ALL ')})`;
  const tuples = rows.map((r) => `(${columns.map((c, i) => literal(c, r[i])).join(', ')})`).join(', ');
  if (engine === 'sqlite')
    return `(SELECT ${columns.map((c, i) => `column${i + 1} AS ${q(c.name)}`).join(', ')} FROM (VALUES ${tuples}))`;
  return `(SELECT * FROM (VALUES ${tuples}) AS ddbkit_values(${columns.map((c) => q(c.name)).join(', ')}))`;
}

function keyOf(column: Column, v: unknown): Key | undefined {
  if (v === null || v === undefined) return undefined;
  if (column.type.family === 'integer') {
    const text = String(v);
    return /^-?\d+$/.test(text) ? BigInt(text) : undefined;
  }
  return column.type.family === 'text' ? String(v) : undefined;
}

export interface StagedResult {
  columns: string[];
  families: Array<string | undefined>;
  batches: AsyncIterable<unknown[][]>;
}

/** Runs a staged plan (not 'ship', which the caller runs as usual) and fills in analyze figures. */
export async function runStaged(
  sql: string,
  staged: StagedPlan,
  plan: PlanView,
  coordinator: Coordinator,
  reads: ReadUse,
  analyze: boolean,
  t0: number,
): Promise<StagedResult> {
  const siteQuery = (site: string, fragment: string) =>
    plan.site_queries.find((q) => q.site === site && q.fragments[0] === fragment && q.rows === undefined);
  const recordLeaf = (leaf: FragmentAccess, rows: number, ms: number) => {
    const q = analyze ? siteQuery(leaf.site.name, leaf.fragment.name) : undefined;
    if (q) Object.assign(q, { rows, ms: round1(ms), sql: leaf.sql });
  };
  let final = sql;
  let rebuildMs = 0;
  const rebuild = async (accesses: RelationAccess[], tables: Map<FragmentAccess, string>) => {
    const started = performance.now();
    for (const a of accesses) {
      const columns = a.relation.relation.columns.map((c) => c.name).filter((c) => a.needs.columns.has(c));
      await coordinator.rebuild(a.relation.relation, columns, a.plan, (leaf) => tables.get(leaf as FragmentAccess)!);
    }
    rebuildMs += performance.now() - started;
  };

  if (staged.kind === 'broadcast') {
    const { pushdown } = staged;
    const b = pushdown.broadcast![0]!;
    const name = b.access.relation.relation.name;
    await rebuild([b.access], await fetchLeaves(leavesOf(b.access.plan), coordinator, reads, recordLeaf));
    const columns = b.columns.map((c) => b.access.relation.relation.columns.find((x) => x.name === c)!);
    const q = (n: string) => `"${n.replace(/"/g, '""')}"`;
    const result = await coordinator.run(
      `SELECT ${columns.map((c) => q(c.name)).join(', ')} FROM ${q(name)} LIMIT ${RUNTIME_BROADCAST_LIMIT + 1}`,
    );
    const rows: unknown[][] = [];
    for await (const batch of result.batches) rows.push(...batch);
    const choice = staged.choices.find((c) => c.strategy === 'broadcast');
    if (rows.length > RUNTIME_BROADCAST_LIMIT) {
      // More rows than planned: ship everything instead, as the general path does.
      if (choice) choice.reason += ` — at run time ${name} had more than ${RUNTIME_BROADCAST_LIMIT} rows: everything shipped`;
      const rest = staged.accesses.filter((a) => a !== b.access);
      await rebuild(
        rest,
        await fetchLeaves(
          rest.flatMap((a) => leavesOf(a.plan)),
          coordinator,
          reads,
          recordLeaf,
        ),
      );
    } else {
      if (choice) choice.actual = { keys: rows.length, applied: true, rows: rows.length };
      const partial = await coordinator.createFragmentTable(pushdown.columns, pushdown.partialTable);
      // No broadcast row: every slice's inner join is empty, no site is asked.
      const slices =
        rows.length === 0
          ? []
          : pushdown.slices.map((x) => ({
              ...x,
              sql: x.sql.replace(broadcastMark(name), inlineTable(x.site.engine, columns, rows)),
            }));
      await loadSlices(partial, pushdown.columns, slices, coordinator, reads, (slice, n, ms) => {
        const shown = broadcastText(
          slice.sql.replace(inlineTable(slice.site.engine, columns, rows), broadcastMark(name)),
          pushdown,
        );
        const x = analyze
          ? plan.site_queries.find((y) => y.sql === shown && y.site === slice.site.name && y.rows === undefined)
          : undefined;
        if (x) Object.assign(x, { rows: n, ms: round1(ms) });
      });
      final = pushdown.rewritten;
    }
  } else if (staged.kind === 'eager') {
    const { eager } = staged;
    const partial = await coordinator.createFragmentTable(eager.inner.columns, eager.inner.partialTable);
    const [tables] = await Promise.all([
      fetchLeaves(leavesOf(eager.preserved.plan), coordinator, reads, recordLeaf),
      loadSlices(partial, eager.inner.columns, eager.inner.slices, coordinator, reads, (slice, rows, ms) => {
        const q = analyze ? plan.site_queries.find((x) => x.sql === slice.sql && x.site === slice.site.name) : undefined;
        if (q) Object.assign(q, { rows, ms: round1(ms) });
      }),
    ]);
    await rebuild([eager.preserved], tables);
    final = eager.rewritten;
  } else if (staged.kind === 'semijoin') {
    const reduced = new Set(staged.semijoins.map((s) => s.reduced));
    const first = staged.accesses.filter((a) => !reduced.has(a));
    const tables = await fetchLeaves(
      first.flatMap((a) => leavesOf(a.plan)),
      coordinator,
      reads,
      recordLeaf,
    );
    await rebuild(first, tables);
    for (const s of staged.semijoins) {
      const q = (n: string) => `"${n.replace(/"/g, '""')}"`;
      const column = q(s.reducerColumn.name);
      const result = await coordinator.run(
        `SELECT DISTINCT ${column} FROM ${q(s.reducer.relation.relation.name)} WHERE ${column} IS NOT NULL LIMIT ${RUNTIME_KEY_LIMIT + 1}`,
      );
      const keys: Key[] = [];
      let convertible = true;
      for await (const batch of result.batches)
        for (const row of batch) {
          const k = keyOf(s.reducerColumn, row[0]);
          if (k === undefined) convertible = false;
          else keys.push(k);
        }
      const applied = convertible && keys.length <= RUNTIME_KEY_LIMIT;
      s.choice.actual = { keys: keys.length, applied, rows: 0 };
      for (const leaf of leavesOf(s.reduced.plan)) {
        if (!leaf.fragment.columns.includes(s.reducedColumn.name)) continue;
        if (!applied) continue;
        if (keys.length === 0) {
          leaf.skip = true;
          continue;
        }
        const dialect = dialectFor(leaf.site.engine);
        const list = keys.map((k) => dialect.literal(s.reducedColumn.type, k)).join(', ');
        leaf.where = [...leaf.where, `${dialect.quoteIdentifier(s.reducedColumn.name)} IN (${list})`];
        leaf.sql = accessSql(leaf);
      }
    }
    const second = staged.accesses.filter((a) => reduced.has(a));
    const counted = new Map<FragmentAccess, number>();
    const more = await fetchLeaves(
      second.flatMap((a) => leavesOf(a.plan)),
      coordinator,
      reads,
      (leaf, rows, ms) => {
        counted.set(leaf, rows);
        recordLeaf(leaf, rows, ms);
      },
    );
    for (const s of staged.semijoins)
      if (s.choice.actual) s.choice.actual.rows = leavesOf(s.reduced.plan).reduce((n, l) => n + (counted.get(l) ?? 0), 0);
    await rebuild(second, more);
    if (analyze) describeStaged(plan, { ...staged, semijoins: [] }); // the steps again, with the actual figures
  }
  const t1 = performance.now();
  const result = await coordinator.answer(final);
  const t2 = performance.now();
  if (analyze) plan.timings = { fetch_ms: t1 - t0 - rebuildMs, rebuild_ms: rebuildMs, execute_ms: t2 - t1, total_ms: t2 - t0 };
  return { columns: result.columns, families: result.families, batches: result.batches };
}
