/**
 * The direct path: a plain single-relation SELECT — columns, a WHERE the predicate logic
 * understands, no grouping, ordering or joins — over horizontal fragments that each hold every
 * column it reads. Each surviving fragment's site answers its part in its own dialect and the rows
 * are passed on unchanged: no coordinator, no rebuild. Key lookups and the `SELECT … FOR UPDATE`
 * of check-then-write transactions take this path; anything else returns undefined and goes
 * through the full pipeline.
 */
import type { Expr, SelectFromStatement, Statement } from 'pgsql-ast-parser';
import type { Catalog, Column, ColumnType, Relation } from '../catalog/types.js';
import { findColumn, findRelation, sameName } from '../catalog/types.js';
import type { RelationNeeds } from './analyze.js';
import { relationScope } from '../design/resolve.js';
import { dialectFor } from '../engines/dialect-registry.js';
import {
  type Key,
  type Predicate,
  PredicateError,
  domainOf,
  TRUE,
  predicateFromExpr,
  renderSql,
  variablesOf,
} from '../predicate/index.js';
import { keyOfValue } from '../predicate/key-of.js';
import type { FragmentAccess, PrunedFragment, ReducedPlan, RelationAccess } from './localize.js';

export interface DirectPart {
  site: string;
  fragment: string;
  sql: string;
  /** The source types of the columns read, so every engine returns canonical values. */
  types: ColumnType[];
}

export interface DirectPlan {
  /** The relation and condition read. */
  query: DirectQuery;
  columns: string[];
  /** For each output column, its position in the parts' rows (a column may be selected twice). */
  project: number[];
  families: string[];
  parts: DirectPart[];
  /** How the parts' rows become the result: passed on, combined as aggregates, or merged in order. */
  combine: Combine;
  pruned: PrunedFragment[];
  /** The plan in the shape EXPLAIN prints. */
  plan: {
    sql: string;
    relations: Array<{ relation: string; columns: string[]; predicate: string; fragments: string[] }>;
    site_queries: Array<{ site: string; fragments: string[]; sql: string }>;
    pruned: PrunedFragment[];
    coordinator: { engine: 'duckdb'; steps: string[] };
  };
}

export type Combine =
  | { kind: 'concat' }
  | { kind: 'aggregate'; aggregates: Aggregate[] }
  | { kind: 'order'; keys: OrderKey[]; limit?: number; offset: number };

export interface Aggregate {
  fn: 'count' | 'min' | 'max' | 'sum';
  type: ColumnType;
}

export interface OrderKey {
  /** Position in the parts' rows. */
  index: number;
  type: ColumnType;
  descending: boolean;
  nullsFirst: boolean;
}

/**
 * `accesses` are the localized, reduced plans of the query's relations (pruning, vertical
 * reduction and the replica choice are the pipeline's); the direct path only adds that the
 * relation's remaining fragments are unioned and that the whole WHERE runs at each site.
 */
/** What a direct-path SELECT asks of its one relation, read from the statement alone. */
export interface DirectQuery {
  relation: Relation;
  where: Predicate;
  /** Columns each site returns (output, then ORDER BY keys); empty for aggregates. */
  read: string[];
  output?: Output[];
  aggregates?: AggregateItem[];
  order?: Array<{ column: Column; descending: boolean; nullsFirst: boolean }>;
  limit: { limit?: number; offset: number };
}

/**
 * Reads a SELECT for the direct path, or undefined when it needs the coordinator. `params` are
 * the values of `$1`… when the statement was parsed with its parameters unbound (a template).
 */
export function analyzeDirect(
  sql: string,
  statement: Statement,
  catalog: Catalog,
  params?: readonly unknown[],
): DirectQuery | undefined {
  if (!isDirectCandidate(statement)) return undefined;
  const select = statement;
  const from = select.from![0]!;
  if (from.type !== 'table' || from.join || (from.name.schema && from.name.schema !== 'public')) return undefined;
  const relation = findRelation(catalog, from.name.name);
  if (!relation) return undefined;
  const qualifiers = [from.name.alias ?? relation.name];
  const where = select.where ? whereOf(select.where, sql, relation, qualifiers, params) : TRUE;
  if (!where) return undefined;

  const aggregates = aggregatesOf(select, relation, qualifiers);
  const output = aggregates ? undefined : selectedColumns(select, relation, qualifiers);
  if (!aggregates && !output) return undefined;
  if (aggregates && (select.orderBy || select.limit)) return undefined;
  const order = select.orderBy ? orderOf(select, relation, qualifiers, output!) : undefined;
  if (select.orderBy && !order) return undefined;
  const limit = select.limit ? limitOf(select, params) : { offset: 0 };
  if (!limit) return undefined;

  // The columns each site returns: the output's, then ORDER BY's not already there.
  const read = aggregates ? [] : [...new Set(output!.map((c) => c.name))];
  for (const o of order ?? []) if (!read.includes(o.column.name)) read.push(o.column.name);
  return {
    relation,
    where,
    read,
    limit,
    ...(output ? { output } : {}),
    ...(aggregates ? { aggregates } : {}),
    ...(order ? { order } : {}),
  };
}

/** What the direct query needs of its relation, for localization (pruning, replicas). */
export function needsOf(q: DirectQuery): RelationNeeds {
  const columns = new Set([...q.read, ...[...variablesOf(q.where).values()].map((v) => v.name)]);
  for (const a of q.aggregates ?? []) if (a.column) columns.add(a.column.name);
  return { relation: q.relation, columns, predicate: q.where, references: 1 };
}

/** The site queries of a direct query over its localized relation, or undefined when it needs the coordinator. */
export function planDirect(sql: string, q: DirectQuery, access: RelationAccess): DirectPlan | undefined {
  const { relation, where, read, output, aggregates, order, limit } = q;
  const leaves = unionLeaves(access.plan);
  if (!leaves) return undefined;
  const whereColumns = [...variablesOf(where).values()].map((v) => v.name);
  const parts: DirectPart[] = [];
  for (const { access: leaf, implied } of leaves) {
    if (leaf.fragment.overlapAllowed) return undefined;
    const stored = new Set(leaf.fragment.columns);
    const aggregated = (aggregates ?? []).flatMap((a) => (a.column ? [a.column.name] : []));
    // A column the fragment does not store may be implied by its predicate (BOOK_ENIT: site = 'ENIT').
    if (!read.every((c) => stored.has(c) || implied.has(c)) || !aggregated.every((c) => stored.has(c))) return undefined;
    if (!whereColumns.every((c) => stored.has(c))) return undefined;
    if (order && !order.every((o) => stored.has(o.column.name))) return undefined;
    // SQLite keeps timestamps as text: its order is not the coordinator's for every spelling.
    if (leaf.site.engine === 'sqlite' && order?.some((o) => o.column.type.family.startsWith('timestamp'))) return undefined;
    const dialect = dialectFor(leaf.site.engine);
    const q = (n: string) => dialect.quoteIdentifier(n);
    const columns = aggregates
      ? aggregates.map((a) => (a.column ? `${a.fn.toUpperCase()}(${q(a.column.name)})` : 'COUNT(*)')).join(', ')
      : read
          .map((c) => {
            if (stored.has(c)) return q(c);
            const key = implied.get(c);
            const type = findColumn(relation, c)!.type;
            return `${key === null || key === undefined ? 'NULL' : dialect.literal(type, key)} AS ${q(c)}`;
          })
          .join(', ');
    const filter = where.kind === 'const' && where.value === true ? '' : ` WHERE ${dialect.renderPredicate(where)}`;
    // Every engine places NULLs its own way: sorting on "is null" first gives PostgreSQL's order everywhere.
    const orderBy = order
      ? ` ORDER BY ${order
          .flatMap((o) => {
            const c = q(o.column.name);
            const key = `${c}${o.descending ? ' DESC' : ''}`;
            if (!o.column.nullable) return [key];
            return [`CASE WHEN ${c} IS NULL THEN ${o.nullsFirst ? '0 ELSE 1' : '1 ELSE 0'} END`, key];
          })
          .join(', ')}`
      : '';
    const fetch = limit.limit !== undefined ? ` LIMIT ${limit.limit + limit.offset}` : '';
    parts.push({
      site: leaf.site.name,
      fragment: leaf.fragment.name,
      sql: `SELECT ${columns} FROM ${q(leaf.table)}${filter}${orderBy}${fetch}`,
      types: aggregates ? aggregates.map((a) => a.resultType) : read.map((c) => findColumn(relation, c)!.type),
    });
  }
  const ordered = order !== undefined || limit.limit !== undefined || limit.offset > 0;
  // LIMIT without ORDER BY over several sites: which rows is the coordinator's business.
  if (ordered && !order && parts.length > 1) return undefined;
  const combine: Combine = aggregates
    ? { kind: 'aggregate', aggregates: aggregates.map((a) => ({ fn: a.fn, type: a.resultType })) }
    : ordered
      ? {
          kind: 'order',
          keys: (order ?? []).map((o) => ({
            index: read.indexOf(o.column.name),
            type: o.column.type,
            descending: o.descending,
            nullsFirst: o.nullsFirst,
          })),
          ...(limit.limit !== undefined ? { limit: limit.limit } : {}),
          offset: limit.offset,
        }
      : { kind: 'concat' };
  const columnsRead = aggregates ? aggregates.flatMap((a) => (a.column ? [a.column.name] : [])) : read;
  return {
    query: q,
    columns: aggregates ? aggregates.map((a) => a.as) : output!.map((c) => c.as),
    project: aggregates ? aggregates.map((_, i) => i) : output!.map((c) => read.indexOf(c.name)),
    families: aggregates ? aggregates.map((a) => a.resultType.family) : output!.map((c) => c.column.type.family),
    parts,
    combine,
    pruned: access.pruned,
    plan: {
      sql,
      relations: [
        { relation: relation.name, columns: columnsRead, predicate: describe(where), fragments: parts.map((p) => p.fragment) },
      ],
      site_queries: parts.map((p) => ({ site: p.site, fragments: [p.fragment], sql: p.sql })),
      pruned: access.pruned,
      coordinator: { engine: 'duckdb', steps: [describeCombine(combine, parts.length)] },
    },
  };
}

function describeCombine(combine: Combine, parts: number): string {
  if (parts === 0) return 'nothing to run: every fragment is pruned, the result is empty';
  switch (combine.kind) {
    case 'aggregate':
      return `none: the sites’ partial aggregates are combined here (${combine.aggregates.map((a) => a.fn).join(', ')})`;
    case 'order':
      return `none: the sites’ ordered rows are merged here${combine.limit !== undefined ? `, first ${combine.limit}${combine.offset ? ` after ${combine.offset}` : ''} kept` : ''}`;
    case 'concat':
      return 'none: the sites’ rows are the result (one relation, no grouping, ordering or joins)';
  }
}

export interface AggregateItem {
  fn: Aggregate['fn'];
  column?: Column;
  as: string;
  resultType: ColumnType;
}

const BIGINT: ColumnType = { family: 'integer', sqlType: 'bigint', bits: 64 };

/** Families every engine orders alike (text is left out: collations differ). */
const ORDERABLE = new Set(['integer', 'decimal', 'float', 'date', 'timestamp', 'timestamptz', 'boolean']);

/** A select list made only of COUNT(*), COUNT/MIN/MAX(column) and SUM(integer column), without GROUP BY. */
function aggregatesOf(s: SelectFromStatement, relation: Relation, qualifiers: string[]): AggregateItem[] | undefined {
  const out: AggregateItem[] = [];
  for (const item of s.columns!) {
    const e = item.expr;
    if (e.type !== 'call') return undefined;
    const fn = e.function.name.toLowerCase();
    if (e.function.schema || e.distinct || e.filter || e.over || e.orderBy || e.args.length !== 1) return undefined;
    if (fn !== 'count' && fn !== 'min' && fn !== 'max' && fn !== 'sum') return undefined;
    const arg = e.args[0]!;
    if (arg.type !== 'ref' || (arg.table && !qualifiers.some((q) => sameName(q, arg.table!.name)))) return undefined;
    if (arg.name === '*') {
      if (fn !== 'count') return undefined;
      out.push({ fn, as: item.alias?.name ?? 'count', resultType: BIGINT });
      continue;
    }
    const column = findColumn(relation, arg.name);
    if (!column) return undefined;
    // Exact decimal sums, and min/max of text (collations differ), stay with the coordinator.
    if (fn === 'sum' && column.type.family !== 'integer') return undefined;
    if ((fn === 'min' || fn === 'max') && !ORDERABLE.has(column.type.family)) return undefined;
    out.push({ fn, column, as: item.alias?.name ?? fn, resultType: fn === 'count' || fn === 'sum' ? BIGINT : column.type });
  }
  return out;
}

function orderOf(
  s: SelectFromStatement,
  relation: Relation,
  qualifiers: string[],
  output: Output[],
): Array<{ column: Column; descending: boolean; nullsFirst: boolean }> | undefined {
  const out: Array<{ column: Column; descending: boolean; nullsFirst: boolean }> = [];
  for (const o of s.orderBy!) {
    const e = o.by;
    if (e.type !== 'ref' || (e.table && !qualifiers.some((q) => sameName(q, e.table!.name)))) return undefined;
    // An output alias names its column; otherwise a column of the relation.
    const aliased = e.table ? undefined : output.find((c) => c.as === e.name);
    const column = aliased?.column ?? findColumn(relation, e.name);
    if (!column || !ORDERABLE.has(column.type.family)) return undefined;
    const descending = o.order === 'DESC';
    out.push({ column, descending, nullsFirst: o.nulls ? o.nulls === 'FIRST' : descending });
  }
  return out;
}

function limitOf(s: SelectFromStatement, params?: readonly unknown[]): { limit?: number; offset: number } | undefined {
  const l = s.limit!;
  const n = (e: Expr | undefined | null): number | undefined | null => {
    if (e === undefined || e === null) return undefined;
    if (e.type === 'integer' && e.value >= 0) return e.value;
    if (e.type === 'parameter') {
      const v = Number(params?.[Number(e.name.slice(1)) - 1]);
      return Number.isSafeInteger(v) && v >= 0 ? v : null;
    }
    return null;
  };
  const limit = n(l.limit);
  const offset = n(l.offset);
  if (limit === null || offset === null) return undefined;
  return { ...(limit !== undefined ? { limit } : {}), offset: offset ?? 0 };
}

/** A cheap first look: could this statement take the direct path at all? */
export function isDirectCandidate(statement: Statement): statement is SelectFromStatement {
  return statement.type === 'select' && isPlain(statement) && statement.from![0]!.type === 'table' && !statement.from![0]!.join;
}

function isPlain(s: SelectFromStatement): boolean {
  return (
    Array.isArray(s.from) &&
    s.from.length === 1 &&
    !s.groupBy &&
    !s.having &&
    !s.distinct &&
    Array.isArray(s.columns) &&
    s.columns.length > 0
  );
}

export interface Output {
  name: string;
  as: string;
  column: Column;
}

function selectedColumns(s: SelectFromStatement, relation: Relation, qualifiers: string[]): Output[] | undefined {
  const out: Output[] = [];
  for (const item of s.columns!) {
    const e = item.expr;
    if (e.type !== 'ref') return undefined;
    if (e.table && !qualifiers.some((q) => sameName(q, e.table!.name))) return undefined;
    if (e.name === '*') {
      if (item.alias) return undefined;
      for (const c of relation.columns) out.push({ name: c.name, as: c.name, column: c });
      continue;
    }
    const column = findColumn(relation, e.name);
    if (!column) return undefined;
    out.push({ name: column.name, as: item.alias?.name ?? e.name, column });
  }
  return out;
}

function whereOf(
  where: Expr,
  sql: string,
  relation: Relation,
  qualifiers: string[],
  params?: readonly unknown[],
): Predicate | undefined {
  const scope = relationScope(relation);
  try {
    return predicateFromExpr(
      where,
      sql,
      {
        ...scope,
        resolve: (name, qualifier) =>
          qualifier && !qualifiers.some((q) => sameName(q, qualifier)) ? undefined : scope.resolve(name, undefined),
      },
      params,
    );
  } catch (e) {
    if (e instanceof PredicateError) return undefined;
    throw e;
  }
}

/** The fragment reads of a reduced plan made only of unions (horizontal and derived fragments). */
function unionLeaves(plan: ReducedPlan): Array<{ access: FragmentAccess; implied: ReadonlyMap<string, Key | null> }> | undefined {
  switch (plan.kind) {
    case 'fragment':
      return [{ access: plan.access, implied: plan.implied }];
    case 'union': {
      const parts = plan.parts.map(unionLeaves);
      return parts.some((p) => p === undefined) ? undefined : parts.flatMap((p) => p!);
    }
    case 'empty':
      return [];
    case 'join':
      return undefined;
  }
}

function describe(p: Predicate): string {
  return p.kind === 'const' ? String(p.value).toUpperCase() : renderSql(p, { column: (v) => v.name });
}
/** The result from each part's rows (in the parts' column order), as `plan.combine` says. */
export function combineRows(plan: DirectPlan, partRows: unknown[][][]): unknown[][] {
  const project = (r: unknown[]) => plan.project.map((p) => r[p]);
  const c = plan.combine;
  switch (c.kind) {
    case 'concat':
      return partRows.flat().map(project);
    case 'aggregate': {
      const rows = partRows.flat();
      return [
        c.aggregates.map((a, i) => {
          const values = rows.map((r) => r[i]).filter((v) => v !== null && v !== undefined);
          if (a.fn === 'count' || a.fn === 'sum') {
            if (a.fn === 'sum' && values.length === 0) return null;
            const total = values.reduce<bigint>((s, v) => s + BigInt(String(v)), 0n);
            return Number.isSafeInteger(Number(total)) ? Number(total) : total.toString();
          }
          if (values.length === 0) return null;
          const cmp = compareValues(a.type);
          return values.reduce((best, v) => ((a.fn === 'min' ? cmp(v, best) < 0 : cmp(v, best) > 0) ? v : best));
        }),
      ];
    }
    case 'order': {
      const rows = mergeRows(partRows, c.keys);
      const end = c.limit === undefined ? undefined : c.offset + c.limit;
      return rows.slice(c.offset, end).map(project);
    }
  }
}

/** Sorts rows of canonical values by `keys`, NULLs placed as PostgreSQL places them. */
export function sortRows(rows: unknown[][], keys: readonly OrderKey[]): void {
  if (keys.length > 0) rows.sort(rowComparator(keys));
}

/**
 * The rows of several parts in `keys` order. Parts that arrive sorted (each site ordered its
 * own) are merged, head by head; otherwise they are put together and sorted.
 */
export function mergeRows(parts: unknown[][][], keys: readonly OrderKey[]): unknown[][] {
  const nonEmpty = parts.filter((p) => p.length > 0);
  if (nonEmpty.length <= 1) {
    const rows = nonEmpty[0] ?? [];
    sortRows(rows, keys);
    return rows;
  }
  if (keys.length === 0) return nonEmpty.flat();
  const cmp = rowComparator(keys);
  const sorted = nonEmpty.every((p) => {
    for (let i = 1; i < p.length; i++) if (cmp(p[i - 1]!, p[i]!) > 0) return false;
    return true;
  });
  if (!sorted) {
    const rows = nonEmpty.flat();
    rows.sort(cmp);
    return rows;
  }
  const out: unknown[][] = new Array(nonEmpty.reduce((n, p) => n + p.length, 0));
  const at = nonEmpty.map(() => 0);
  for (let o = 0; o < out.length; o++) {
    let best = -1;
    for (let k = 0; k < nonEmpty.length; k++) {
      if (at[k]! >= nonEmpty[k]!.length) continue;
      if (best < 0 || cmp(nonEmpty[k]![at[k]!]!, nonEmpty[best]![at[best]!]!) < 0) best = k;
    }
    out[o] = nonEmpty[best]![at[best]!++]!;
  }
  return out;
}

function rowComparator(keys: readonly OrderKey[]): (x: unknown[], y: unknown[]) => number {
  const comparators = keys.map((k) => ({ k, cmp: compareValues(k.type) }));
  return (x, y) => {
    for (const { k, cmp } of comparators) {
      const a = x[k.index];
      const b = y[k.index];
      const an = a === null || a === undefined;
      const bn = b === null || b === undefined;
      if (an || bn) {
        if (an && bn) continue;
        return an === k.nullsFirst ? -1 : 1;
      }
      const d = cmp(a, b);
      if (d !== 0) return k.descending ? -d : d;
    }
    return 0;
  };
}

function compareValues(type: ColumnType): (a: unknown, b: unknown) => number {
  const domain = domainOf(type);
  const general = (a: unknown, b: unknown) => domain.compare(keyOfValue(type, a)!, keyOfValue(type, b)!);
  // Canonical integers are numbers (strings only beyond 2^53), dates 'YYYY-MM-DD': compared as they are.
  if (type.family === 'integer') return (a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : general(a, b));
  if (type.family === 'date')
    return (a, b) =>
      typeof a === 'string' && typeof b === 'string' && a.length === 10 && b.length === 10 && a[0] !== '-' && b[0] !== '-'
        ? a < b
          ? -1
          : a > b
            ? 1
            : 0
        : general(a, b);
  return general;
}

/**
 * The site queries reading `read` columns of the rows satisfying `where` from a localized
 * relation, when every remaining fragment is a horizontal piece holding them (no coordinator
 * needed), else undefined. Used for the write path's key lookups, which never go through SQL text.
 */
export function directParts(
  relation: Relation,
  access: RelationAccess,
  read: string[],
  where: Predicate,
): DirectPart[] | undefined {
  const output = read.map((c) => {
    const column = findColumn(relation, c)!;
    return { name: column.name, as: column.name, column };
  });
  return planDirect('', { relation, where, read, output, limit: { offset: 0 } }, access)?.parts;
}
