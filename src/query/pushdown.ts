/**
 * Slice pushdown: co-located joins and partial aggregates run at the sites.
 *
 * A grouping query over relations whose fragments line up — one horizontal fragmentation, the
 * other relations derived from it (joined along the derivation's foreign keys), plus relations
 * replicated where each slice lives — decomposes into one query per slice: each site joins its own
 * fragments, filters and pre-aggregates (COUNT, SUM, MIN, MAX; AVG as SUM and COUNT), and only
 * the partial groups travel. The coordinator combines them with the user's query rewritten in
 * place (source ranges spliced, nothing re-printed). Anything outside these rules keeps the
 * general path (fetch reduced rows, rebuild, run): never a different answer.
 */
import type { Expr, Statement } from 'pgsql-ast-parser';
import type { Column, ColumnType, Relation } from '../catalog/types.js';
import type { ResolvedFragment } from '../design/resolve.js';
import { relationScope } from '../design/resolve.js';
import type { SiteSpec } from '../design/schema.js';
import { tableName } from '../deploy/layout.js';
import { dialectFor } from '../engines/dialect-registry.js';
import { type Key, type Predicate, TRUE, Universe, predicateFromExpr, renderSql, variablesOf } from '../predicate/index.js';
import type { FragmentAccess, ReducedPlan, RelationAccess } from './localize.js';
import { type Node, conjuncts, hasSubqueryOrWindow, walk } from './syntax.js';

export interface SliceQuery {
  site: SiteSpec;
  fragments: string[];
  sql: string;
}

export interface SlicePushdown extends DistinctLists {
  /** The partial-groups table's columns, in the order the slice queries return them. */
  columns: Column[];
  slices: SliceQuery[];
  /** The user's query with its FROM/WHERE and aggregates replaced to read the partial groups. */
  rewritten: string;
  partialTable: string;
  /** Top-N inside the slices: each returns only its first `topN` groups (every group lives in one slice). */
  topN?: number;
  /**
   * Relations broadcast to every slice: their rows, fetched first, replace `broadcastMark(name)`
   * in the slice queries as an inline table (see staged.ts).
   */
  broadcast?: Array<{ access: RelationAccess; columns: string[] }>;
  /**
   * Set when the slices' rows are already the result's rows: every group (or, without grouping,
   * every row) is computed whole in one slice, and the query outputs only group columns and
   * plain aggregates. The coordinator then only merges the slices' ordered rows and applies
   * LIMIT/OFFSET — no coordinator engine, no second grouping (distributed.ts `mergeFinal`).
   */
  final?: FinalRows;
}

/** The partial columns holding distinct-value lists (see `Aggregate.list`), and the types the slices' rows are read with. */
export interface DistinctLists {
  lists?: number[];
  groupColumns?: number;
  readTypes?: ColumnType[];
}

const TEXT: ColumnType = { family: 'text', sqlType: 'text' };

/** The longest list a MariaDB site returns (its session's group_concat_max_len): a list this long may be cut. */
export const MARIADB_LIST_LIMIT = 16 * 1024 * 1024;

/**
 * Replaces the distinct-value lists of the slices' partial groups by counts: the first row of
 * each group carries the size of the union of its lists, the others 0, so that the combining
 * query's sum() gives the exact count(DISTINCT).
 */
export function combineDistinctLists(rows: unknown[][], groupColumns: number, lists: readonly number[]): void {
  const seen = new Map<string, { row: unknown[]; sets: Array<Set<number | string>> }>();
  for (const row of rows) {
    const key = groupColumns === 1 ? String(row[0]) + typeof row[0] : JSON.stringify(row.slice(0, groupColumns));
    let entry = seen.get(key);
    if (!entry) seen.set(key, (entry = { row, sets: lists.map(() => new Set<number | string>()) }));
    for (const [i, column] of lists.entries()) {
      const text = row[column];
      if (typeof text === 'string' && text.length > 0) {
        if (text.length >= MARIADB_LIST_LIMIT - 32)
          throw new Error('a count(DISTINCT …) list is too long to be combined (over 16 MB in one group)');
        addIntegers(text, entry.sets[i]!);
      }
      row[column] = 0;
    }
  }
  for (const { row, sets } of seen.values()) for (const [i, column] of lists.entries()) row[column] = sets[i]!.size;
}

/**
 * Adds the integers of a comma-separated list to `set`, read digit by digit (a million values
 * would otherwise be a million short strings); beyond 2^53 a value is kept as its text.
 */
function addIntegers(text: string, set: Set<number | string>): void {
  let value = 0;
  let negative = false;
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 44;
    if (c === 44) {
      if (i > start) {
        const n = negative ? -value : value;
        set.add(Number.isSafeInteger(n) ? n : BigInt(text.slice(start, i)).toString());
      }
      value = 0;
      negative = false;
      start = i + 1;
    } else if (c === 45) negative = true;
    else if (c >= 48 && c <= 57) value = value * 10 + (c - 48);
    else if (c !== 32) throw new Error(`unexpected ${JSON.stringify(text[i])} in a list of integers`);
  }
}

export interface FinalRows {
  /** For each output column, its position in the slice rows. */
  project: number[];
  /** Output names where the statement does not give PostgreSQL's (see distributed.ts postgresNames). */
  names: string[];
  /** The slice rows' column types as they are read (an integer sum reads as an integer). */
  types: ColumnType[];
  /** Sort keys over the slice rows; none: the slices' rows in any order. */
  order: Array<{ index: number; type: ColumnType; descending: boolean; nullsFirst: boolean }>;
  limit?: number;
  offset: number;
}

/** The placeholder a broadcast relation's inline rows replace in a slice query. */
export const broadcastMark = (relation: string): string => `/*ddbkit-broadcast:${relation}*/`;

export interface SliceOptions {
  /** Relations (by name) not aligned with the slices, whose rows are sent to every slice. */
  broadcast?: Set<string>;
  /** Whether the caller combines distinct-value lists (`Aggregate.list`, `combineDistinctLists`). */
  lists?: boolean;
}

type Loc = { start: number; end: number };
const loc = (n: unknown): Loc | undefined => (n as { _location?: Loc } | undefined)?._location;

const AGGREGATES = new Set(['count', 'sum', 'min', 'max', 'avg']);

interface Item {
  alias: string;
  access: RelationAccess;
  relation: Relation;
}

interface Aggregate {
  fn: string;
  /** count(DISTINCT x): only when x's values never occur in two slices (see `determinesSlice`). */
  distinct?: boolean;
  /**
   * count(DISTINCT x) whose values may occur in several slices: each slice returns, per group,
   * the list of its values (integers only, as text; repeats allowed), and the coordinator counts the
   * union of the lists (see `combineDistinctLists`) before the partial groups are combined.
   */
  list?: boolean;
  item?: Item;
  column?: string;
  /** Instead of a column: arithmetic over columns (`sum(oi.quantity * oi.unit_price)`). */
  arithmetic?: Arithmetic;
  node: Node;
  /** Partial columns it needs. */
  partials: number[];
}

function leavesOf(p: ReducedPlan): FragmentAccess[] | undefined {
  if (p.kind === 'fragment') return [p.access];
  if (p.kind === 'union') {
    const parts = p.parts.map(leavesOf);
    return parts.every((x) => x !== undefined) ? (parts.flat() as FragmentAccess[]) : undefined;
  }
  return undefined; // a key join (vertical pieces) or nothing: not sliceable
}

function impliedOf(p: ReducedPlan, access: FragmentAccess): Map<string, Key | null> {
  if (p.kind === 'fragment') return p.access === access ? p.implied : new Map();
  if (p.kind === 'union' || p.kind === 'join') {
    for (const x of p.parts) {
      const m = impliedOf(x, access);
      if (m.size > 0 || (x.kind === 'fragment' && x.access === access)) return m;
    }
  }
  return new Map();
}

function rootOf(f: ResolvedFragment): ResolvedFragment {
  return f.parent ? rootOf(f.parent.fragment) : f;
}

/** Plans slice pushdown, or returns undefined when the query is not of the shape it handles. */
export function planSlicePushdown(
  sql: string,
  statement: Statement,
  accesses: RelationAccess[],
  options: SliceOptions = {},
): SlicePushdown | undefined {
  if (statement.type !== 'select' || !statement.from || statement.from.length === 0) return undefined;
  const block = statement as unknown as Node & {
    from: Node[];
    columns: Array<{ expr: Expr; alias?: { name: string } }>;
    where?: Expr;
    groupBy?: Expr[];
    having?: Expr;
  };
  if ((block as { distinct?: unknown }).distinct) return undefined;
  // One block, no subqueries, no windows.
  if (hasSubqueryOrWindow(block)) return undefined;

  // FROM: global relations only, inner joins, each referenced once in the query.
  const items: Item[] = [];
  const joinConditions: Expr[] = [];
  /** LEFT JOINed items and their ON conjuncts: allowed when every matching row lives in the same slice. */
  const leftJoined = new Map<Item, Expr[]>();
  for (const from of block.from) {
    if (from.type !== 'table') return undefined;
    const join = from.join as { type?: string; on?: Expr; using?: unknown; natural?: boolean } | undefined;
    if (join && (!['INNER JOIN', 'LEFT JOIN'].includes(join.type ?? '') || join.using || join.natural)) return undefined;
    if (join?.type === 'LEFT JOIN' && !join.on) return undefined;
    const name = from.name as { name: string; alias?: string };
    const access = accesses.find((a) => a.relation.relation.name.toLowerCase() === name.name.toLowerCase());
    if (!access || access.needs.references !== 1) return undefined;
    const item: Item = { alias: (name.alias ?? name.name).toLowerCase(), access, relation: access.relation.relation };
    items.push(item);
    if (join?.type === 'LEFT JOIN') leftJoined.set(item, conjuncts(join.on));
    else if (join?.on) joinConditions.push(...conjuncts(join.on));
  }
  if (items.length !== accesses.length) return undefined;

  // Grouping: plain column refs; outputs over group columns and supported aggregates.
  const groupBy = block.groupBy ?? [];
  const resolveRef = (r: { table?: { name: string }; name: string }): { item: Item; column: string } | undefined => {
    const candidates = r.table ? items.filter((i) => i.alias === r.table!.name.toLowerCase()) : items;
    const hits = candidates.flatMap((item) => {
      const c = item.relation.columns.find((x) => x.name.toLowerCase() === r.name.toLowerCase());
      return c ? [{ item, column: c.name }] : [];
    });
    return hits.length === 1 ? hits[0] : undefined;
  };
  const groups: Array<{ item: Item; column: string }> = [];
  for (const g of groupBy) {
    if (g.type !== 'ref') return undefined;
    const r = resolveRef(g);
    if (!r) return undefined;
    groups.push(r);
  }
  const aggregates: Aggregate[] = [];
  const groupRefs: Array<{ node: Node; index: number }> = [];
  let valid = true;
  const outputAliases = new Set(block.columns.flatMap((c) => (c.alias ? [c.alias.name.toLowerCase()] : [])));
  const outputs: unknown[] = [block.columns, block.having, (block as { orderBy?: unknown }).orderBy, block.groupBy];
  for (const part of outputs) {
    walk(part, (n, parent) => {
      if (n.type === 'call') {
        const fn = String((n.function as { name: string }).name).toLowerCase();
        if (!AGGREGATES.has(fn)) return true; // a scalar function over groups/aggregates is fine
        if (n.filter || n.orderBy || !Array.isArray(n.args) || n.args.length !== 1 || (n.distinct && fn !== 'count')) {
          valid = false;
          return false;
        }
        const arg = n.args[0] as Node;
        if (n.distinct) {
          const r = arg.type === 'ref' && arg.name !== '*' ? resolveRef(arg as { name: string }) : undefined;
          if (!r) valid = false;
          else aggregates.push({ fn, distinct: true, item: r.item, column: r.column, node: n, partials: [] });
          return false;
        }
        if (arg.type === 'ref' && arg.name === '*') {
          if (fn !== 'count') valid = false;
          aggregates.push({ fn, node: n, partials: [] });
          return false;
        }
        if (arg.type !== 'ref') {
          const arithmetic = arithmeticOf(arg as unknown as Expr, resolveRef, sql);
          if (!arithmetic || fn === 'min' || fn === 'max') {
            valid = false;
            return false;
          }
          aggregates.push({ fn, arithmetic, node: n, partials: [] });
          return false;
        }
        const r = resolveRef(arg as { name: string });
        if (!r) {
          valid = false;
          return false;
        }
        aggregates.push({ fn, item: r.item, column: r.column, node: n, partials: [] });
        return false;
      }
      if (n.type === 'ref') {
        if (n.name === '*') {
          valid = false;
          return false;
        }
        // ORDER BY name: an output column first (as PostgreSQL resolves it), left as is.
        const orderItem = parent && (parent as { by?: unknown }).by === n;
        if (orderItem && !(n as { table?: unknown }).table && outputAliases.has(String(n.name).toLowerCase())) return false;
        const r = resolveRef(n as { name: string });
        if (!r) {
          // An output alias (ORDER BY total) or an ordinal: left as is.
          if (parent && (parent as { by?: unknown }).by === n && !(n as { table?: unknown }).table) return false;
          valid = false;
          return false;
        }
        let index = groups.findIndex((g) => g.item === r.item && g.column === r.column);
        // Without GROUP BY, a column outside aggregates is a row column (a plain join); with
        // aggregates as well PostgreSQL refuses the query, and so does the check below.
        if (index < 0 && groupBy.length === 0) index = groups.push(r) - 1;
        if (index < 0) {
          valid = false;
          return false;
        }
        groupRefs.push({ node: n, index });
      }
      return true;
    });
  }
  // A plain join (no grouping, no aggregates) is sliced as well: its rows are made in one slice each.
  const plain = groupBy.length === 0 && aggregates.length === 0;
  if (!valid || (aggregates.length === 0 && !plain)) return undefined;
  // A plain query over one relation is the direct path's or top-N's (topn.ts); a plain join is not
  // worth broadcasting a relation for (staged.ts then prefers a semijoin or shipping).
  if (plain && (block.having || groups.length === 0 || items.length < 2 || options.broadcast?.size)) return undefined;
  if (groupBy.length === 0 && aggregates.length > 0 && groups.length > 0) return undefined;

  // Every relation: a union of whole fragments (no vertical reconstruction), each providing the
  // needed columns; one relation's fragments are the slices' roots, the others derived from them
  // along the join, or replicated where every slice lives.
  const leaves = new Map<Item, FragmentAccess[]>();
  // Broadcast relations: read whole at the coordinator first, so they hold every column they need.
  const broadcast = new Set(items.filter((i) => options.broadcast?.has(i.relation.name)));
  if (broadcast.size !== (options.broadcast?.size ?? 0)) return undefined;
  const everywhere = new Map<Item, ResolvedFragment>();
  for (const item of broadcast) {
    if (leftJoined.has(item)) return undefined;
    const columns = item.relation.columns.map((c) => c.name).filter((c) => item.access.needs.columns.has(c));
    everywhere.set(item, {
      name: `${item.relation.name} (broadcast)`,
      relation: item.relation,
      columns,
      membership: TRUE,
      sites: [],
    } as unknown as ResolvedFragment);
    leaves.set(item, []);
  }
  for (const item of items) {
    if (broadcast.has(item)) continue;
    const l = leavesOf(item.access.plan);
    if (!l || l.length === 0) return undefined;
    for (const leaf of l) {
      const implied = impliedOf(item.access.plan, leaf);
      if (
        ![...item.access.needs.columns].every(
          (c) => leaf.fragment.columns.includes(c) || (implied.has(c) && !leftJoined.has(item)),
        )
      )
        return undefined;
    }
    leaves.set(item, l);
  }
  const equalities = [...joinConditions, ...conjuncts(block.where), ...[...leftJoined.values()].flat()].filter(
    (c): c is Extract<Expr, { type: 'binary' }> =>
      c.type === 'binary' && c.op === '=' && c.left.type === 'ref' && c.right.type === 'ref',
  );
  const joined = (child: Item, parent: Item, fk: { columns: string[]; references: { columns: string[] } }) =>
    fk.columns.every((col, i) =>
      equalities.some((e) => {
        const a = resolveRef(e.left as { name: string });
        const b = resolveRef(e.right as { name: string });
        const ref = fk.references.columns[i]!;
        return (
          (a?.item === child && a.column === col && b?.item === parent && b.column === ref) ||
          (b?.item === child && b.column === col && a?.item === parent && a.column === ref)
        );
      }),
    );
  const replicated = (item: Item) => {
    const l = leaves.get(item)!;
    return l.length === 1 && !l[0]!.fragment.where && !l[0]!.fragment.parent ? l[0]!.fragment : undefined;
  };
  const horizontal = items.filter((i) => !replicated(i) && !broadcast.has(i));
  if (horizontal.length === 0) return undefined;
  // With one horizontal relation, each of its fragments is a slice. With several, each derived one
  // must be joined to the relation its fragments follow, by that foreign key, so that matching
  // rows always share a slice; the slices are then the fragments of their common root.
  const sliceOf = new Map<FragmentAccess, ResolvedFragment>();
  let rootLeaves: FragmentAccess[];
  if (horizontal.length === 1) {
    if (leftJoined.has(horizontal[0]!)) return undefined; // the preserved side would repeat in every slice
    rootLeaves = leaves.get(horizontal[0]!)!;
    for (const l of rootLeaves) sliceOf.set(l, l.fragment);
  } else {
    for (const item of horizontal) {
      for (const leaf of leaves.get(item)!) {
        const link = leaf.fragment.parent;
        if (!link) continue;
        const parentItem = horizontal.find((i) => i.relation === link.fragment.relation);
        if (!parentItem || !joined(item, parentItem, link.foreignKey)) return undefined;
      }
    }
    const roots = new Set(horizontal.flatMap((i) => leaves.get(i)!.map((l) => rootOf(l.fragment).relation)));
    const rootItem = roots.size === 1 ? horizontal.find((i) => roots.has(i.relation)) : undefined;
    if (!rootItem || leftJoined.has(rootItem)) return undefined;
    rootLeaves = leaves.get(rootItem)!;
    for (const item of horizontal) for (const l of leaves.get(item)!) sliceOf.set(l, rootOf(l.fragment));
  }

  // LEFT JOINs: every row matching a preserved row must be in the same slice — the joined item is
  // derived from an earlier item along this very join (its ON holds that foreign key's equalities),
  // or replicated where the slices live. Its ON holds column equalities only, and WHERE never tests
  // its columns (that would need the null-extended rows to be filtered after the join).
  const leftOn = new Map<Item, Array<[{ item: Item; column: string }, { item: Item; column: string }]>>();
  for (const [item, on] of leftJoined) {
    const pairs: Array<[{ item: Item; column: string }, { item: Item; column: string }]> = [];
    for (const c of on) {
      if (c.type !== 'binary' || c.op !== '=' || c.left.type !== 'ref' || c.right.type !== 'ref') return undefined;
      const a = resolveRef(c.left);
      const b = resolveRef(c.right);
      if (!a || !b || a.item === b.item || (a.item !== item && b.item !== item)) return undefined;
      const other = a.item === item ? b.item : a.item;
      if (items.indexOf(other) > items.indexOf(item)) return undefined;
      pairs.push(a.item === item ? [b, a] : [a, b]);
    }
    if (!replicated(item)) {
      for (const leaf of leaves.get(item)!) {
        const link = leaf.fragment.parent;
        const parent = link && items.find((i) => i.relation === link.fragment.relation);
        if (!link || !parent || items.indexOf(parent) > items.indexOf(item)) return undefined;
        const fkJoined = link.foreignKey.columns.every((col, i) =>
          pairs.some(([p, c]) => p.item === parent && p.column === link.foreignKey.references.columns[i] && c.column === col),
        );
        if (!fkJoined) return undefined;
      }
    }
    leftOn.set(item, pairs);
  }

  // Columns whose values never occur in two slices: a horizontal relation's own key, the foreign
  // key its derived fragments follow, or a constant each slice's fragment implies (region = 'MSA').
  // A group holding one of them is computed whole in one slice; count(DISTINCT) of one of them is
  // the sum of the slices' counts.
  const keyText = (k: Key | null | undefined) => JSON.stringify(k, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
  const determinesSlice = (item: Item, column: string): boolean => {
    if (replicated(item) || broadcast.has(item)) return false;
    const l = leaves.get(item)!;
    if (l.some((x) => x.fragment.overlapAllowed)) return false;
    const pk = item.relation.primaryKey;
    if (pk.length === 1 && pk[0] === column) return true;
    if (l.every((x) => x.fragment.parent?.foreignKey.columns.length === 1 && x.fragment.parent.foreignKey.columns[0] === column))
      return true;
    const values = l.map((x) => impliedOf(item.access.plan, x).get(column));
    return values.every((v) => v !== undefined && v !== null) && new Set(values.map(keyText)).size === values.length;
  };
  const groupsLocal = plain || groups.some((g) => determinesSlice(g.item, g.column));
  for (const a of aggregates) {
    if (!a.distinct || groupsLocal || determinesSlice(a.item!, a.column!)) continue;
    if (!options.lists || a.item!.relation.columns.find((c) => c.name === a.column)!.type.family !== 'integer') return undefined;
    a.list = true;
  }

  // WHERE and ON conditions: join equalities run at the site; every other condition must be a
  // single-relation predicate the site can evaluate, or one the slice's fragment already implies.
  const conditions = [...joinConditions, ...conjuncts(block.where)];
  const singles: Array<{ item: Item; predicate: Predicate }> = [];
  const siteJoins: Array<[{ item: Item; column: string }, { item: Item; column: string }]> = [];
  for (const c of conditions) {
    if (c.type === 'binary' && c.op === '=' && c.left.type === 'ref' && c.right.type === 'ref') {
      const a = resolveRef(c.left);
      const b = resolveRef(c.right);
      if (!a || !b) return undefined;
      if (leftJoined.has(a.item) || leftJoined.has(b.item)) return undefined;
      if (a.item !== b.item) {
        siteJoins.push([a, b]);
        continue;
      }
    }
    const owners = new Set<Item>();
    let ok = true;
    walk(c, (n) => {
      if (n.type === 'ref') {
        const r = resolveRef(n as { name: string });
        if (!r) ok = false;
        else owners.add(r.item);
      }
    });
    if (!ok || owners.size !== 1) return undefined;
    const [item] = [...owners] as [Item];
    if (leftJoined.has(item)) return undefined;
    const scope = relationScope(item.relation);
    try {
      singles.push({
        item,
        predicate: predicateFromExpr(c, sql, {
          description: scope.description,
          resolve: (name, qualifier) => (qualifier && qualifier.toLowerCase() !== item.alias ? undefined : scope.resolve(name)),
        }),
      });
    } catch {
      return undefined;
    }
  }

  // The partial-groups table: g0… for the groups, then each aggregate's partial columns.
  const typeOf = (item: Item, column: string) => item.relation.columns.find((c) => c.name === column)!.type;
  const columns: Column[] = groups.map((g, i) => ({ name: `g${i}`, type: typeOf(g.item, g.column), nullable: true }));
  const BIGINT: ColumnType = { family: 'integer', sqlType: 'bigint', bits: 64 };
  const sumType = (t: ColumnType): ColumnType =>
    t.family === 'integer'
      ? { family: 'decimal', sqlType: 'numeric(38,0)', precision: 38, scale: 0 }
      : t.family === 'decimal'
        ? { family: 'decimal', sqlType: `numeric(38,${t.scale ?? 0})`, precision: 38, scale: t.scale ?? 6 }
        : t;
  for (const a of aggregates) {
    const t = a.arithmetic ? a.arithmetic.type : a.item ? typeOf(a.item, a.column!) : undefined;
    if (a.fn === 'sum' || a.fn === 'avg') {
      if (!t || !['integer', 'decimal', 'float'].includes(t.family) || (t.family === 'decimal' && t.scale === undefined))
        return undefined;
    }
    const add = (type: ColumnType) => {
      a.partials.push(columns.length);
      columns.push({ name: `a${columns.length}`, type, nullable: true });
    };
    if (a.fn === 'count') add(BIGINT);
    else if (a.fn === 'sum') add(sumType(t!));
    else if (a.fn === 'min' || a.fn === 'max') add(t!);
    else {
      add(sumType(t!));
      add(BIGINT);
    }
  }

  // Top-N inside the slices: when every group is computed whole in one slice, each slice's first
  // LIMIT + OFFSET groups in the query's order hold the global ones (see topn.ts); the sort keys
  // must be group columns or aggregates each site orders exactly as the coordinator does.
  const sliceOrder = groupsLocal && !block.having ? sliceTopN(block, groups, aggregates, resolveRef, typeOf) : undefined;
  const final = groupsLocal && !block.having ? finalRows(block, aggregates, groupRefs, sliceOrder, columns, typeOf) : undefined;

  // One query per slice (root fragment): its fragment of every horizontal relation, the replicated
  // relations' copy at the same site.
  const slices: SliceQuery[] = [];
  const universes = new Map<Relation, Universe>();
  const universeOf = (item: Item) => {
    let u = universes.get(item.relation);
    if (!u) universes.set(item.relation, (u = new Universe(item.access.relation.constraints)));
    return u;
  };
  for (const rootLeaf of rootLeaves) {
    const root = sliceOf.get(rootLeaf)!;
    const chosen = new Map<Item, FragmentAccess>();
    let complete = true;
    for (const item of horizontal) {
      const mine = leaves.get(item)!.filter((l) => sliceOf.get(l) === root);
      if (mine.length === 0 && leftJoined.has(item)) return undefined;
      if (mine.length === 0) complete = false; // the inner join is empty in this slice
      if (mine.length > 1) return undefined;
      if (mine[0]) chosen.set(item, mine[0]);
    }
    if (!complete) continue;
    const candidates = [...chosen.values()].map((l) => l.fragment.sites).reduce((acc, s) => acc.filter((x) => s.includes(x)));
    const site = candidates.find((s) => items.filter(replicated).every((i) => replicated(i)!.sites.includes(s)));
    if (!site) return undefined;
    const dialect = dialectFor(site.engine);
    const q = (n: string) => dialect.quoteIdentifier(n);
    const leafOf = (item: Item): { fragment: ResolvedFragment; implied: Map<string, Key | null> } => {
      const copy = everywhere.get(item);
      if (copy) return { fragment: copy, implied: new Map() };
      const l = chosen.get(item) ?? leaves.get(item)![0]!;
      return { fragment: l.fragment, implied: impliedOf(item.access.plan, l) };
    };
    const eliminated = new Map<Item, { child: Item; key: Map<string, string> }>();
    const columnSql = (item: Item, column: string): string | undefined => {
      const parent = eliminated.get(item);
      if (parent?.key.has(column)) return columnSql(parent.child, parent.key.get(column)!);
      const { fragment, implied } = leafOf(item);
      if (fragment.columns.includes(column)) return `${q(item.alias)}.${q(column)}`;
      if (implied.has(column)) {
        const key = implied.get(column)!;
        return key === null ? 'NULL' : dialect.literal(typeOf(item, column), key);
      }
      return undefined;
    };
    // Join elimination: a parent joined only along the foreign key its child's fragment follows,
    // and read only through constants its fragment implies (o.region) or through that key, adds
    // nothing to the slice: every child row there has exactly one parent row there (the child's
    // fragment is the child's rows whose parent is in the parent's fragment).
    for (const p of items) {
      if (leftJoined.has(p) || [...leftOn.values()].some((pairs) => pairs.some(([a, b]) => a.item === p || b.item === p)))
        continue;
      if (aggregates.some((a) => a.item === p || a.arithmetic?.refs.some((r) => r.item === p))) continue;
      const pLeaf = leafOf(p);
      if (singles.some((x) => x.item === p && !universeOf(p).implies(pLeaf.fragment.membership, x.predicate))) continue;
      const touching = siteJoins.filter(([a, b]) => a.item === p || b.item === p);
      for (const c of items) {
        if (c === p || leftJoined.has(c) || eliminated.has(c) || [...eliminated.values()].some((e) => e.child === p)) continue;
        const link = leafOf(c).fragment.parent;
        if (!link || link.fragment !== pLeaf.fragment) continue;
        const key = new Map(link.foreignKey.references.columns.map((rc, i) => [rc, link.foreignKey.columns[i]!] as const));
        const along = (pair: [{ item: Item; column: string }, { item: Item; column: string }]) => {
          const [pp, cc] = pair[0].item === p ? pair : [pair[1], pair[0]];
          return cc.item === c && key.get(pp.column) === cc.column;
        };
        if (!touching.every(along)) continue;
        if (
          ![...key.keys()].every((rc) =>
            touching.some((pair) => along(pair) && (pair[0].item === p ? pair[0] : pair[1]).column === rc),
          )
        )
          continue;
        if (!groups.every((g) => g.item !== p || pLeaf.implied.has(g.column) || key.has(g.column))) continue;
        eliminated.set(p, { child: c, key });
        break;
      }
    }
    // A replicated relation joined by its primary key and read only for group columns (the
    // product beside order lines) is joined after the rest is aggregated per join key, at the
    // site: the engine then joins thousands of groups instead of every row (MariaDB spends
    // seconds joining a million order lines to the catalogue one by one).
    const kept = items.filter((i) => !eliminated.has(i));
    const dimension =
      plain || leftOn.size > 0
        ? undefined
        : dimensionOf(kept, (i) => leafOf(i).fragment, replicated, broadcast, siteJoins, groups, aggregates);
    const where: string[] = [];
    const outerWhere: string[] = [];
    for (const [a, b] of siteJoins) {
      if (eliminated.has(a.item) || eliminated.has(b.item)) continue;
      if (dimension && (a.item === dimension.item || b.item === dimension.item)) continue;
      const x = columnSql(a.item, a.column);
      const y = columnSql(b.item, b.column);
      if (!x || !y) return undefined;
      where.push(`${x} = ${y}`);
    }
    let sliceEmpty = false;
    for (const s of singles) {
      const { fragment } = leafOf(s.item);
      const u = universeOf(s.item);
      if (u.implies(fragment.membership, s.predicate)) continue;
      if (
        !u.findRow([
          { predicate: fragment.membership, is: 'true' },
          { predicate: s.predicate, is: 'true' },
        ])
      ) {
        sliceEmpty = true;
        break;
      }
      if (![...variablesOf(s.predicate).values()].every((v) => fragment.columns.includes(v.name))) return undefined;
      // (parenthesized: an OR must not bind across the AND)
      (s.item === dimension?.item ? outerWhere : where).push(`(${renderQualified(dialect, s.predicate, s.item.alias)})`);
    }
    if (sliceEmpty) continue;
    const x = (name: string) => `${q(DIMENSION_INPUT)}.${q(name)}`;
    const select: string[] = [];
    const outerSelect: string[] = [];
    const groupText: string[] = [];
    const aggregateText = new Map<Aggregate, string>();
    for (const [i, g] of groups.entries()) {
      const c = columnSql(g.item, g.column);
      if (!c) return undefined;
      if (g.item === dimension?.item) {
        groupText.push(c);
        outerSelect.push(`${c} AS ${q(`g${i}`)}`);
        continue;
      }
      select.push(`${c} AS ${q(`g${i}`)}`);
      groupText.push(dimension ? x(`g${i}`) : c);
      outerSelect.push(`${x(`g${i}`)} AS ${q(`g${i}`)}`);
    }
    for (const a of aggregates) {
      const stored = (item: Item, column: string) => leafOf(item).fragment.columns.includes(column);
      // No aggregates over implied constants: every column must be stored in the slice's fragment.
      if (a.arithmetic && !a.arithmetic.refs.every((r) => stored(r.item, r.column))) return undefined;
      const arg = a.arithmetic
        ? a.arithmetic.render((item, column) => columnSql(item, column)!)
        : a.item
          ? columnSql(a.item, a.column!)
          : '*';
      if (!arg || (a.item && !stored(a.item, a.column!))) return undefined;
      const names = a.partials.map((p) => `a${p}`);
      // Above the dimension's join, partials combine as the coordinator combines them; when the
      // dimension's key is a group column, each group is one row of the join and passes as it is.
      const outer = (fn: string, name: string) => (dimension?.oneToOne ? x(name) : `${fn === 'count' ? 'sum' : fn}(${x(name)})`);
      if (a.fn === 'avg') {
        select.push(`sum(${arg}) AS ${q(names[0]!)}`, `count(${arg}) AS ${q(names[1]!)}`);
        outerSelect.push(`${outer('sum', names[0]!)} AS ${q(names[0]!)}`, `${outer('count', names[1]!)} AS ${q(names[1]!)}`);
      } else {
        const text = a.list ? dialect.integerList(arg) : `${a.fn}(${a.distinct ? 'DISTINCT ' : ''}${arg})`;
        aggregateText.set(a, dimension ? outer(a.fn, names[0]!) : text);
        select.push(`${text} AS ${q(names[0]!)}`);
        outerSelect.push(`${outer(a.fn, names[0]!)} AS ${q(names[0]!)}`);
      }
    }
    let suffix = '';
    if (sliceOrder && (sliceOrder.limit !== undefined || final) && sliceOrder.keys.every((k) => k.engines(site.engine))) {
      const order: string[] = [];
      for (const k of sliceOrder.keys) {
        const text = k.group !== undefined ? groupText[k.group]! : aggregateText.get(k.aggregate!)!;
        if (k.group !== undefined && !leafOf(groups[k.group]!.item).fragment.columns.includes(groups[k.group]!.column)) continue; // a constant here
        if (k.nullable) order.push(`CASE WHEN ${text} IS NULL THEN ${k.nullsFirst ? 0 : 1} ELSE ${k.nullsFirst ? 1 : 0} END`);
        order.push(`${text}${k.text && dialect.name === 'postgres' ? ' COLLATE "C"' : ''}${k.desc ? ' DESC' : ''}`);
      }
      suffix = `${order.length ? ` ORDER BY ${order.join(', ')}` : ''}${sliceOrder.limit !== undefined ? ` LIMIT ${sliceOrder.limit}` : ''}`;
    } // else this slice returns all its groups, unordered: still correct (the final merge sorts)
    const tableSql = (item: Item) =>
      `${broadcast.has(item) ? broadcastMark(item.relation.name) : q(tableName(leafOf(item).fragment))} AS ${q(item.alias)}`;
    const inner = kept.filter((i) => i !== dimension?.item);
    const from =
      leftOn.size === 0
        ? inner.map(tableSql).join(', ')
        : inner
            .map((item, i) => {
              const on = leftOn.get(item);
              if (i === 0) return tableSql(item);
              if (!on) return `CROSS JOIN ${tableSql(item)}`;
              return `LEFT JOIN ${tableSql(item)} ON ${on.map(([a, b]) => `${columnSql(a.item, a.column)} = ${columnSql(b.item, b.column)}`).join(' AND ')}`;
            })
            .join(' ');
    // A group column of a table whose whole primary key is grouped depends on that key: engines
    // that know it group by the key alone (MariaDB would otherwise group a LONGTEXT column
    // through an on-disk temporary table: seconds instead of milliseconds).
    const keyed = new Set(
      dialect.groupsByKeyAlone
        ? inner.filter(
            (i) =>
              !broadcast.has(i) &&
              i.relation.primaryKey.length > 0 &&
              i.relation.primaryKey.every(
                (k) => groups.some((g) => g.item === i && g.column === k) && leafOf(i).fragment.columns.includes(k),
              ),
          )
        : [],
    );
    const groupSql = plain
      ? []
      : groups
          .filter((g) => g.item !== dimension?.item && (!keyed.has(g.item) || g.item.relation.primaryKey.includes(g.column)))
          .map((g) => columnSql(g.item, g.column)!)
          .filter((c) => c.includes('.'));
    let sql: string;
    if (dimension) {
      const key = columnSql(dimension.other.item, dimension.other.column)!;
      const innerSql = `SELECT ${[`${key} AS ${q(DIMENSION_KEY)}`, ...select].join(', ')} FROM ${from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} GROUP BY ${[key, ...groupSql].join(', ')}`;
      // (the groups a slice's fragment fixes are columns of the derived table: grouped as well)
      const outerGroups = dimension.oneToOne ? [] : groupText;
      const on = [`${columnSql(dimension.item, dimension.key)} = ${x(DIMENSION_KEY)}`, ...outerWhere];
      sql = `SELECT ${outerSelect.join(', ')} FROM (${innerSql}) AS ${q(DIMENSION_INPUT)}, ${tableSql(dimension.item)} WHERE ${on.join(' AND ')}${outerGroups.length ? ` GROUP BY ${outerGroups.join(', ')}` : ''}${suffix}`;
    } else {
      sql = `SELECT ${select.join(', ')} FROM ${from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}${groupSql.length ? ` GROUP BY ${groupSql.join(', ')}` : ''}${suffix}`;
    }
    slices.push({ site, fragments: items.map((i) => leafOf(i).fragment.name), sql });
  }

  // The user's query, rewritten in place to read the partial groups.
  const partialTable = 'ddbkit_partial';
  const splices: Array<{ start: number; end: number; text: string }> = [];
  // Clause boundaries come from the keywords before the next clause: expression locations may
  // stop short of a closing parenthesis (an IN list's), so they cannot delimit a clause.
  const keywordBefore = (node: unknown, keyword: RegExp): number | undefined => {
    const l = loc(node);
    if (!l) return undefined;
    const m = keyword.exec(sql.slice(0, l.start));
    return m ? m.index : undefined;
  };
  const orderBy = (block as { orderBy?: Array<{ by: unknown }> }).orderBy;
  const limit = (block as { limit?: { limit?: unknown; offset?: unknown } }).limit;
  const afterWhere = [
    keywordBefore(groupBy[0], /GROUP\s+BY\s*$/i),
    keywordBefore(block.having, /HAVING\s*$/i),
    keywordBefore(orderBy?.[0]?.by, /ORDER\s+BY\s*$/i),
    keywordBefore(limit?.limit, /LIMIT\s*$/i),
    keywordBefore(limit?.offset, /OFFSET\s*$/i),
  ].filter((x): x is number => x !== undefined);
  const end = afterWhere.length ? Math.min(...afterWhere) : sql.replace(/[\s;]*$/, '').length;
  const whereStart = block.where ? keywordBefore(block.where, /WHERE[\s(]*$/i) : undefined;
  if (block.where && whereStart === undefined) return undefined;
  const fromStart = Math.min(...block.from.map((f) => loc(f)!.start));
  splices.push({ start: fromStart, end: whereStart ?? end, text: `${partialTable} ` });
  if (whereStart !== undefined) splices.push({ start: whereStart, end, text: '' });
  for (const a of aggregates) {
    const l = loc(a.node)!;
    const [p0, p1] = a.partials.map((p) => `"a${p}"`);
    const text =
      a.fn === 'count'
        ? `coalesce(sum(${p0}), 0)`
        : a.fn === 'sum'
          ? // a sum of integers stays an integer (as without pushdown), so that `/` divides as integers
            (a.arithmetic ? a.arithmetic.type : a.item ? typeOf(a.item, a.column!) : undefined)?.family === 'integer'
            ? `CAST(sum(${p0}) AS HUGEINT)`
            : `sum(${p0})`
          : a.fn === 'avg'
            ? `(CAST(sum(${p0}) AS DOUBLE) / sum(${p1}))`
            : `${a.fn}(${p0})`;
    splices.push({ start: l.start, end: l.end, text });
  }
  for (const r of groupRefs) {
    const l = loc(r.node)!;
    const isOutput = block.columns.some((c) => c.expr === (r.node as unknown) && !c.alias);
    splices.push({ start: l.start, end: l.end, text: isOutput ? `"g${r.index}" AS "${String(r.node.name)}"` : `"g${r.index}"` });
  }
  splices.sort((x, y) => y.start - x.start);
  let rewritten = sql;
  let lastStart = Infinity;
  for (const s of splices) {
    if (s.end > lastStart) return undefined; // overlapping edits: not a shape we rewrite
    rewritten = rewritten.slice(0, s.start) + s.text + rewritten.slice(s.end);
    lastStart = s.start;
  }
  return {
    columns,
    slices,
    rewritten,
    partialTable,
    ...(sliceOrder?.limit !== undefined ? { topN: sliceOrder.limit } : {}),
    ...(final ? { final } : {}),
    ...(aggregates.some((a) => a.list)
      ? {
          lists: aggregates.filter((a) => a.list).map((a) => a.partials[0]!),
          groupColumns: groups.length,
          readTypes: columns.map((c, i) => (aggregates.some((a) => a.list && a.partials[0] === i) ? TEXT : c.type)),
        }
      : {}),
    ...(broadcast.size
      ? { broadcast: [...broadcast].map((i) => ({ access: i.access, columns: everywhere.get(i)!.columns })) }
      : {}),
  };
}

interface SliceSortKey {
  group?: number;
  aggregate?: Aggregate;
  desc: boolean;
  nullsFirst: boolean;
  nullable: boolean;
  text: boolean;
  /** Whether a site of this engine orders the key exactly as the coordinator does. */
  engines: (engine: string) => boolean;
}

/**
 * The sort keys and LIMIT + OFFSET (undefined without LIMIT) of a grouping query whose groups
 * each live in one slice, when every key is a group column or an aggregate; undefined otherwise.
 */
function sliceTopN(
  block: Node,
  groups: Array<{ item: Item; column: string }>,
  aggregates: Aggregate[],
  resolveRef: (r: { table?: { name: string }; name: string }) => { item: Item; column: string } | undefined,
  typeOf: (item: Item, column: string) => ColumnType,
): { keys: SliceSortKey[]; limit?: number } | undefined {
  const orderBy = block.orderBy as Array<{ by: Expr; order?: string; nulls?: string }> | undefined;
  const limitClause = block.limit as
    { limit?: { type: string; value: unknown }; offset?: { type: string; value: unknown } } | undefined;
  const int = (e: { type: string; value: unknown } | undefined) =>
    e?.type === 'integer' && typeof e.value === 'number' && Number.isSafeInteger(e.value) && e.value >= 0 ? e.value : undefined;
  if (!orderBy?.length && !limitClause?.limit) return undefined;
  const limit = limitClause?.limit ? int(limitClause.limit) : undefined;
  const offset = limitClause?.offset ? int(limitClause.offset) : 0;
  if ((limitClause?.limit && limit === undefined) || offset === undefined) return undefined;
  if (limit !== undefined && limit + offset > 100_000) return undefined;
  const columns = block.columns as Array<{ expr: Expr; alias?: { name: string } }>;
  const exact = new Set(['integer', 'decimal', 'date', 'timestamp', 'timestamptz', 'text']);
  // As in topn.ts: SQLite stores decimals as REAL and timestamps as text; MariaDB pads text with spaces.
  const alike = (t: ColumnType) => (engine: string) =>
    exact.has(t.family) &&
    (engine !== 'sqlite' || ['integer', 'text', 'date'].includes(t.family)) &&
    (t.family !== 'text' || (engine !== 'mariadb' && engine !== 'mysql'));
  const keys: SliceSortKey[] = [];
  for (const item of orderBy ?? []) {
    let e: Expr | undefined = item.by;
    const ordinal = int(e as { type: string; value: unknown });
    if (ordinal !== undefined) e = columns[ordinal - 1]?.expr;
    else if (e.type === 'ref' && !e.table) {
      const named = columns.filter((c) => c.alias?.name.toLowerCase() === (e as { name: string }).name.toLowerCase());
      if (named.length > 1) return undefined;
      if (named.length === 1) e = named[0]!.expr;
    }
    if (!e) return undefined;
    const desc = item.order === 'DESC';
    const nullsFirst = item.nulls ? item.nulls === 'FIRST' : desc;
    const aggregate = aggregates.find((a) => a.node === (e as unknown));
    if (aggregate) {
      if (aggregate.fn === 'avg') return undefined;
      if (aggregate.fn === 'count') {
        keys.push({ aggregate, desc, nullsFirst, nullable: false, text: false, engines: () => true });
        continue;
      }
      const t = aggregate.arithmetic ? aggregate.arithmetic.type : typeOf(aggregate.item!, aggregate.column!);
      keys.push({ aggregate, desc, nullsFirst, nullable: true, text: t.family === 'text', engines: alike(t) });
      continue;
    }
    if (e.type !== 'ref') return undefined;
    const r = resolveRef(e);
    const group = r ? groups.findIndex((g) => g.item === r.item && g.column === r.column) : -1;
    if (!r || group < 0) return undefined;
    const t = typeOf(r.item, r.column);
    const nullable = r.item.relation.columns.find((c) => c.name === r.column)?.nullable ?? true;
    keys.push({ group, desc, nullsFirst, nullable, text: t.family === 'text', engines: alike(t) });
  }
  return { keys, ...(limit !== undefined ? { limit: limit + offset } : {}) };
}

/** Families the final merge orders itself, exactly as PostgreSQL (text is left out: collations differ). */
/** The derived table of a slice query aggregated below its dimension's join, and its join key column. */
const DIMENSION_INPUT = 'ddbkit_below';
const DIMENSION_KEY = 'ddbkit_key';

interface Dimension {
  item: Item;
  /** The dimension's one-column primary key, and the other side of the join on it. */
  key: string;
  other: { item: Item; column: string };
  /** Its key is a group column: every group is one row of the join, nothing to combine above it. */
  oneToOne: boolean;
}

/**
 * A replicated relation of the slice joined only by its one-column primary key (`p.product_id =
 * oi.product_id`), read only for group columns: the rest can be aggregated per join key first.
 * count(DISTINCT) partials cannot be combined again, so they need the key among the groups.
 */
function dimensionOf(
  kept: Item[],
  fragmentOf: (item: Item) => ResolvedFragment,
  replicated: (item: Item) => ResolvedFragment | undefined,
  broadcast: Set<Item>,
  siteJoins: Array<[{ item: Item; column: string }, { item: Item; column: string }]>,
  groups: Array<{ item: Item; column: string }>,
  aggregates: Aggregate[],
): Dimension | undefined {
  if (kept.length < 2 || aggregates.length === 0) return undefined;
  for (const item of kept) {
    if (!replicated(item) || broadcast.has(item)) continue;
    const pk = item.relation.primaryKey;
    if (pk.length !== 1 || !fragmentOf(item).columns.includes(pk[0]!)) continue;
    if (aggregates.some((a) => a.item === item || a.arithmetic?.refs.some((r) => r.item === item))) continue;
    if (!groups.some((g) => g.item === item)) continue;
    const joins = siteJoins.filter(([a, b]) => a.item === item || b.item === item);
    if (joins.length !== 1) continue;
    const [a, b] = joins[0]!;
    const [mine, other] = a.item === item ? [a, b] : [b, a];
    if (mine.column !== pk[0] || other.item === item || !fragmentOf(other.item).columns.includes(other.column)) continue;
    const oneToOne = groups.some((g) => g.item === item && g.column === pk[0]);
    if (!oneToOne && aggregates.some((a) => a.distinct || a.list)) continue;
    return { item, key: pk[0]!, other, oneToOne };
  }
  return undefined;
}

const MERGE_ORDERABLE = new Set(['integer', 'decimal', 'float', 'date', 'timestamp', 'timestamptz', 'boolean']);

/**
 * The final-rows plan (see `SlicePushdown.final`) when the outputs are group columns and plain
 * aggregates other than AVG, and every sort key is one the merge can order; undefined otherwise.
 */
function finalRows(
  block: Node,
  aggregates: Aggregate[],
  groupRefs: Array<{ node: Node; index: number }>,
  sliceOrder: { keys: SliceSortKey[]; limit?: number } | undefined,
  columns: Column[],
  typeOf: (item: Item, column: string) => ColumnType,
): FinalRows | undefined {
  const orderBy = block.orderBy as unknown[] | undefined;
  const limitClause = block.limit as { limit?: unknown; offset?: unknown } | undefined;
  if ((orderBy?.length || limitClause?.limit || limitClause?.offset) && !sliceOrder) return undefined;
  if (aggregates.some((a) => a.fn === 'avg')) return undefined;
  const items = block.columns as Array<{ expr: Expr; alias?: { name: string } }>;
  const project: number[] = [];
  const names: string[] = [];
  for (const c of items) {
    const ref = groupRefs.find((g) => g.node === (c.expr as unknown));
    const aggregate = aggregates.find((a) => a.node === (c.expr as unknown));
    if (ref) project.push(ref.index);
    else if (aggregate) project.push(aggregate.partials[0]!);
    else return undefined;
    names.push(c.alias?.name ?? (ref ? String((c.expr as { name: string }).name) : aggregate!.fn));
  }
  // An integer sum reads as an integer (the coordinator's CAST to HUGEINT does the same).
  const types = columns.map((c) => c.type);
  const BIGINT: ColumnType = { family: 'integer', sqlType: 'bigint', bits: 64 };
  for (const a of aggregates) {
    const t = a.arithmetic ? a.arithmetic.type : a.item ? typeOf(a.item, a.column!) : undefined;
    if (a.fn === 'sum' && t?.family === 'integer') types[a.partials[0]!] = BIGINT;
  }
  const order: FinalRows['order'] = [];
  for (const k of sliceOrder?.keys ?? []) {
    const index = k.group !== undefined ? k.group : k.aggregate!.partials[0]!;
    if (!MERGE_ORDERABLE.has(types[index]!.family)) return undefined;
    order.push({ index, type: types[index]!, descending: k.desc, nullsFirst: k.nullsFirst });
  }
  const int = (e: unknown) => {
    const n = e as { type?: string; value?: unknown } | undefined;
    return n?.type === 'integer' && typeof n.value === 'number' ? n.value : undefined;
  };
  const limit = limitClause?.limit ? int(limitClause.limit) : undefined;
  return { project, names, types, order, ...(limit !== undefined ? { limit } : {}), offset: int(limitClause?.offset) ?? 0 };
}

interface Arithmetic {
  refs: Array<{ item: Item; column: string }>;
  /** The result type, as PostgreSQL types it: integer, decimal with the scale the operation gives, or float. */
  type: ColumnType;
  render(column: (item: Item, column: string) => string): string;
}

/**
 * `+`, `-` and `*` over columns and number literals: portable across the sites' engines (division
 * is not — integer division differs), with the result type inferred the way PostgreSQL does.
 */
function arithmeticOf(
  e: Expr,
  resolveRef: (r: { table?: { name: string }; name: string }) => { item: Item; column: string } | undefined,
  sql: string,
): Arithmetic | undefined {
  const decimal = (scale: number): ColumnType => ({ family: 'decimal', sqlType: `numeric(38,${scale})`, precision: 38, scale });
  const FLOAT: ColumnType = { family: 'float', sqlType: 'double precision' };
  const INTEGER: ColumnType = { family: 'integer', sqlType: 'bigint', bits: 64 };
  switch (e.type) {
    case 'ref': {
      const r = resolveRef(e);
      if (!r) return undefined;
      const type = r.item.relation.columns.find((c) => c.name === r.column)!.type;
      if (!['integer', 'decimal', 'float'].includes(type.family) || (type.family === 'decimal' && type.scale === undefined))
        return undefined;
      return { refs: [r], type, render: (column) => column(r.item, r.column) };
    }
    case 'integer':
    case 'numeric': {
      const l = loc(e);
      const text = l ? sql.slice(l.start, l.end) : String(e.value);
      if (!/^-?\d+(\.\d+)?$/.test(text)) return undefined;
      const scale = text.includes('.') ? text.split('.')[1]!.length : 0;
      return { refs: [], type: scale === 0 ? INTEGER : decimal(scale), render: () => text };
    }
    case 'binary': {
      if (!['+', '-', '*'].includes(e.op)) return undefined;
      const l = arithmeticOf(e.left, resolveRef, sql);
      const r = arithmeticOf(e.right, resolveRef, sql);
      if (!l || !r) return undefined;
      const [a, b] = [l.type, r.type];
      const type =
        a.family === 'float' || b.family === 'float'
          ? FLOAT
          : a.family === 'integer' && b.family === 'integer'
            ? INTEGER
            : decimal(e.op === '*' ? (a.scale ?? 0) + (b.scale ?? 0) : Math.max(a.scale ?? 0, b.scale ?? 0));
      return { refs: [...l.refs, ...r.refs], type, render: (column) => `(${l.render(column)} ${e.op} ${r.render(column)})` };
    }
    default:
      return undefined;
  }
}

/** A predicate in the site's dialect, its columns qualified by the slice query's alias. */
function renderQualified(dialect: ReturnType<typeof dialectFor>, p: Predicate, alias: string): string {
  const style = dialect.sqlStyle;
  return renderSql(p, {
    column: (v) => `${dialect.quoteIdentifier(alias)}.${dialect.quoteIdentifier(v.name)}`,
    ...(style.literal ? { literal: style.literal } : {}),
  });
}
