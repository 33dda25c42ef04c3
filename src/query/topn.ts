/**
 * Top-N pushdown: `SELECT … FROM r WHERE … ORDER BY … LIMIT n [OFFSET m]` over one relation
 * rebuilt from a union of horizontal fragments asks each fragment's site for its first n + m rows
 * in the query's order only; the coordinator sorts their union and applies the real LIMIT and
 * OFFSET. Every row of the global first n + m is among its own fragment's first n + m, whatever
 * order ties take, so the answer is one PostgreSQL could give.
 *
 * Conditions (else nothing is pushed, never a different answer): the site must order exactly as
 * the coordinator does — sort keys are plain columns of types every engine orders alike (integers,
 * decimals, dates; timestamps except on SQLite, where they are stored as text; text in code-point
 * order, COLLATE "C" on PostgreSQL and never on MariaDB, whose binary collation pads with spaces),
 * NULLs placed explicitly as PostgreSQL places them — and the site must
 * see every condition of the WHERE (a row the coordinator would filter out must not take a place).
 */
import type { Expr, Statement } from 'pgsql-ast-parser';
import type { Column } from '../catalog/types.js';
import { relationScope } from '../design/resolve.js';
import { dialectFor } from '../engines/dialect-registry.js';
import { type Predicate, Universe, predicateFromExpr, variablesOf } from '../predicate/index.js';
import { type FragmentAccess, type ReducedPlan, type RelationAccess, accessSql } from './localize.js';
import { type Node, conjuncts, walk } from './syntax.js';

export interface TopNPushdown {
  relation: string;
  /** Rows each site returns at most: LIMIT + OFFSET. */
  limit: number;
  fragments: string[];
}

/** Aggregates and other calls that would make the block one row or a group (never pushed). */
const AGGREGATE =
  /^(count|sum|avg|min|max|string_agg|array_agg|bool_and|bool_or|every|stddev|stddev_pop|stddev_samp|variance|var_pop|var_samp|json_agg|jsonb_agg|percentile_disc|percentile_cont|mode|bit_and|bit_or)$/i;

function unionLeaves(p: ReducedPlan): FragmentAccess[] | undefined {
  if (p.kind === 'fragment') return [p.access];
  if (p.kind === 'union') {
    const parts = p.parts.map(unionLeaves);
    return parts.every((x) => x !== undefined) ? (parts.flat() as FragmentAccess[]) : undefined;
  }
  return undefined;
}

function intLiteral(e: unknown): number | undefined {
  const n = e as { type?: string; value?: unknown } | undefined;
  return n?.type === 'integer' && typeof n.value === 'number' && Number.isSafeInteger(n.value) && n.value >= 0
    ? n.value
    : undefined;
}

/** Whether `engine` orders `column` exactly as the coordinator (DuckDB, code-point text) does. */
function ordersAlike(engine: string, column: Column): boolean {
  switch (column.type.family) {
    case 'integer':
    case 'decimal':
    case 'date':
      return true;
    case 'timestamp':
    case 'timestamptz':
      return engine !== 'sqlite';
    case 'text':
      // MariaDB's binary collation pads with spaces ('a' sorts after 'a\t'): not code-point order.
      return engine !== 'mariadb' && engine !== 'mysql';
    default:
      return false;
  }
}

/**
 * Plans top-N pushdown and applies it to the relation's fragment accesses (their `suffix` and
 * `sql`), or returns undefined and changes nothing.
 */
export function applyTopN(sql: string, statement: Statement, accesses: RelationAccess[]): TopNPushdown | undefined {
  if (statement.type !== 'select') return undefined;
  const block = statement as unknown as Node & {
    from?: Node[];
    columns?: Array<{ expr: Expr; alias?: { name: string } }>;
    where?: Expr;
    orderBy?: Array<{ by: Expr; order?: string; nulls?: string }>;
    limit?: { limit?: unknown; offset?: unknown };
  };
  if (!block.orderBy?.length || !block.limit?.limit || block.distinct || block.groupBy || block.having) return undefined;
  const limit = intLiteral(block.limit.limit);
  const offset = block.limit.offset === undefined ? 0 : intLiteral(block.limit.offset);
  if (limit === undefined || offset === undefined || limit + offset > 100_000) return undefined;
  if (!block.from || block.from.length !== 1 || block.from[0]!.type !== 'table' || block.from[0]!.join) return undefined;
  let grouping = false;
  walk([block.columns, block.orderBy], (n) => {
    if (n.over) grouping = true;
    if (n.type === 'call' && AGGREGATE.test(String((n.function as { name: string }).name))) grouping = true;
  });
  if (grouping) return undefined;
  const name = block.from[0]!.name as { name: string; alias?: string };
  const access = accesses.find((a) => a.relation.relation.name.toLowerCase() === name.name.toLowerCase());
  if (!access || access.needs.references !== 1) return undefined;
  const relation = access.relation.relation;
  const alias = (name.alias ?? name.name).toLowerCase();
  const leaves = unionLeaves(access.plan);
  if (!leaves || leaves.length === 0) return undefined;

  const columnOf = (e: Expr): Column | undefined => {
    if (e.type !== 'ref' || e.name === '*') return undefined;
    if (e.table && e.table.name.toLowerCase() !== alias) return undefined;
    return relation.columns.find((c) => c.name.toLowerCase() === e.name.toLowerCase());
  };
  // ORDER BY items: an output column first (as PostgreSQL resolves a bare name), then a column.
  const keys: Array<{ column: Column; desc: boolean; nullsFirst: boolean }> = [];
  for (const item of block.orderBy) {
    let e: Expr | undefined = item.by;
    const ordinal = intLiteral(e);
    if (ordinal !== undefined) e = block.columns?.[ordinal - 1]?.expr;
    else if (e.type === 'ref' && !e.table) {
      const named = block.columns?.filter((c) => c.alias?.name.toLowerCase() === (e as { name: string }).name.toLowerCase());
      if (named && named.length > 1) return undefined;
      if (named?.length === 1) e = named[0]!.expr;
    }
    const column = e ? columnOf(e) : undefined;
    if (!column) return undefined;
    const desc = item.order === 'DESC';
    keys.push({ column, desc, nullsFirst: item.nulls ? item.nulls === 'FIRST' : desc });
  }

  // The whole WHERE must be seen by each site: every conjunct pushed (its columns stored) or implied
  // by the fragment's predicate.
  const scope = relationScope(relation);
  const conditions: Predicate[] = [];
  for (const c of conjuncts(block.where)) {
    try {
      conditions.push(
        predicateFromExpr(c, sql, {
          description: scope.description,
          resolve: (n, qualifier) => (qualifier && qualifier.toLowerCase() !== alias ? undefined : scope.resolve(n)),
        }),
      );
    } catch {
      return undefined;
    }
  }
  const universe = new Universe(access.relation.constraints);
  for (const leaf of leaves) {
    for (const p of conditions) {
      const stored = [...variablesOf(p).values()].every((v) => leaf.fragment.columns.includes(v.name));
      if (!stored && !universe.implies(leaf.fragment.membership, p)) return undefined;
    }
  }

  let pushed = 0;
  for (const leaf of leaves) {
    // A site that would order differently returns all its rows: still correct.
    if (!keys.every((k) => !leaf.fragment.columns.includes(k.column.name) || ordersAlike(leaf.site.engine, k.column))) continue;
    pushed++;
    const dialect = dialectFor(leaf.site.engine);
    const collate = dialect.name === 'postgres' ? ' COLLATE "C"' : '';
    const order: string[] = [];
    for (const k of keys) {
      if (!leaf.fragment.columns.includes(k.column.name)) continue; // implied: one value in this fragment
      const c = dialect.quoteIdentifier(k.column.name);
      if (k.column.nullable) order.push(`CASE WHEN ${c} IS NULL THEN ${k.nullsFirst ? 0 : 1} ELSE ${k.nullsFirst ? 1 : 0} END`);
      order.push(`${c}${k.column.type.family === 'text' ? collate : ''}${k.desc ? ' DESC' : ''}`);
    }
    leaf.suffix = `${order.length ? `ORDER BY ${order.join(', ')} ` : ''}LIMIT ${limit + offset}`;
    leaf.sql = accessSql(leaf);
  }
  if (pushed === 0) return undefined;
  return {
    relation: relation.name,
    limit: limit + offset,
    fragments: leaves.filter((l) => l.suffix).map((l) => l.fragment.name),
  };
}
