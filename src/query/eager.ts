/**
 * Aggregation below a LEFT JOIN (eager aggregation, Yan & Larson): in
 *
 *   SELECT c.customer_id, c.name, count(DISTINCT o.order_id), sum(oi.quantity)
 *   FROM customer c LEFT JOIN orders o ON o.customer_id = c.customer_id
 *                   LEFT JOIN order_item oi ON oi.order_id = o.order_id
 *   GROUP BY c.customer_id, c.name
 *
 * every group is one preserved row (its key is grouped) and the aggregates read only the joined
 * side, so the joined side can be aggregated per join key first — at the sites, by slice pushdown
 * of `SELECT o.customer_id, count(DISTINCT o.order_id), sum(oi.quantity) FROM orders o LEFT JOIN
 * order_item oi ON … GROUP BY o.customer_id` — and the coordinator joins the preserved relation
 * to one row per key instead of to every order line. A preserved row without a match keeps the
 * answers the original join gives it: count(*) 1, count(x) 0, other aggregates NULL.
 */
import type { Expr, Statement } from 'pgsql-ast-parser';
import { relationScope } from '../design/resolve.js';
import { type Predicate, postgresStyle, predicateFromExpr, renderSql, variablesOf } from '../predicate/index.js';
import { parseQuery } from './analyze.js';
import type { RelationAccess } from './localize.js';
import { type SlicePushdown, planSlicePushdown } from './pushdown.js';
import { type Node, conjuncts, hasSubqueryOrWindow, walk } from './syntax.js';

export interface EagerAggregation {
  /** The preserved relation, fetched and rebuilt as usual. */
  preserved: RelationAccess;
  /** The joined side, aggregated per join key at the sites. */
  inner: SlicePushdown;
  /** The joined side's query, as planned for the sites (before slice pushdown). */
  innerSql: string;
  /** The user's query with the joined side replaced by the per-key partials. */
  rewritten: string;
}

type Loc = { start: number; end: number };
const loc = (n: unknown): Loc | undefined => (n as { _location?: Loc } | undefined)?._location;
const AGGREGATES = new Set(['count', 'sum', 'min', 'max', 'avg']);
export const EAGER_TABLE = 'ddbkit_eager';
/** The joined side's queries, parsed once (the parser is most of the planning time); read only. */
const parsedInner = new Map<string, Statement>();

interface Item {
  alias: string;
  access: RelationAccess;
}

export function planEagerAggregation(
  sql: string,
  statement: Statement,
  accesses: RelationAccess[],
): EagerAggregation | undefined {
  if (statement.type !== 'select' || !statement.from || statement.from.length < 2) return undefined;
  const block = statement as unknown as Node & {
    from: Node[];
    columns: Array<{ expr: Expr; alias?: { name: string } }>;
    where?: Expr;
    groupBy?: Expr[];
    having?: Expr;
    orderBy?: Array<{ by: Expr }>;
  };
  if ((block as { distinct?: unknown }).distinct || !block.groupBy?.length) return undefined;
  if (hasSubqueryOrWindow(block)) return undefined;

  const items: Item[] = [];
  for (const [i, from] of block.from.entries()) {
    if (from.type !== 'table') return undefined;
    const join = from.join as { type?: string; on?: Expr; using?: unknown; natural?: boolean } | undefined;
    if (i > 0 && (join?.type !== 'LEFT JOIN' || !join.on || join.using || join.natural)) return undefined;
    const name = from.name as { name: string; alias?: string; schema?: string };
    const access = accesses.find((a) => a.relation.relation.name.toLowerCase() === name.name.toLowerCase());
    if (!access || access.needs.references !== 1) return undefined;
    items.push({ alias: (name.alias ?? name.name).toLowerCase(), access });
  }
  if (items.length !== accesses.length) return undefined;
  const [preserved, ...joined] = items as [Item, ...Item[]];
  const resolve = (r: { table?: { name: string }; name: string }): { item: Item; column: string } | undefined => {
    const candidates = r.table ? items.filter((i) => i.alias === r.table!.name.toLowerCase()) : items;
    const hits = candidates.flatMap((item) => {
      const c = item.access.relation.relation.columns.find((x) => x.name.toLowerCase() === r.name.toLowerCase());
      return c ? [{ item, column: c.name }] : [];
    });
    return hits.length === 1 ? hits[0] : undefined;
  };
  const refsOf = (e: unknown): Array<{ item: Item; column: string } | undefined> => {
    const out: Array<{ item: Item; column: string } | undefined> = [];
    walk(e, (n) => {
      if (n.type === 'ref' && n.name !== '*') out.push(resolve(n as { name: string }));
    });
    return out;
  };

  // GROUP BY: columns of the preserved relation, its whole key among them.
  const groupColumns = block.groupBy.map((g) => (g.type === 'ref' ? resolve(g) : undefined));
  if (groupColumns.some((g) => !g || g.item !== preserved)) return undefined;
  const pk = preserved.access.relation.relation.primaryKey;
  if (pk.length === 0 || !pk.every((k) => groupColumns.some((g) => g!.column === k))) return undefined;
  // WHERE: the preserved relation only.
  if (refsOf(block.where).some((r) => !r || r.item !== preserved)) return undefined;
  // The first LEFT JOIN's ON: equalities between the preserved relation and the joined side; the
  // later ONs stay within the joined side.
  const keys: Array<{ preserved: string; joined: { item: Item; column: string } }> = [];
  for (const c of conjuncts((block.from[1]!.join as { on: Expr }).on)) {
    if (c.type !== 'binary' || c.op !== '=' || c.left.type !== 'ref' || c.right.type !== 'ref') return undefined;
    const a = resolve(c.left);
    const b = resolve(c.right);
    if (!a || !b) return undefined;
    const [p, j] = a.item === preserved ? [a, b] : [b, a];
    if (p.item !== preserved || j.item === preserved) return undefined;
    keys.push({ preserved: p.column, joined: j });
  }
  if (keys.length === 0) return undefined;
  for (const from of block.from.slice(2)) {
    if (refsOf((from.join as { on: Expr }).on).some((r) => !r || r.item === preserved)) return undefined;
  }

  // Aggregates read the joined side only; everything else reads the preserved relation.
  const aggregates: Array<{ fn: string; node: Node; text: string; star: boolean; distinct: boolean }> = [];
  let valid = true;
  const outputAliases = new Set(block.columns.flatMap((c) => (c.alias ? [c.alias.name.toLowerCase()] : [])));
  for (const part of [block.columns, block.having, block.orderBy]) {
    walk(part, (n, parent) => {
      if (n.type === 'call') {
        const fn = String((n.function as { name: string }).name).toLowerCase();
        if (!AGGREGATES.has(fn)) return true;
        const args = n.args as Node[] | undefined;
        if (n.filter || n.orderBy || !args || args.length !== 1 || (n.distinct && fn !== 'count')) {
          valid = false;
          return false;
        }
        const star = args[0]!.type === 'ref' && args[0]!.name === '*';
        if (star && fn !== 'count') valid = false;
        if (!star && refsOf(args[0]).some((r) => !r || r.item === preserved)) valid = false;
        const l = loc(n);
        if (!l) valid = false;
        else aggregates.push({ fn, node: n, text: sql.slice(l.start, l.end), star, distinct: Boolean(n.distinct) });
        return false;
      }
      if (n.type === 'ref') {
        if (n.name === '*') valid = false;
        const byOutput = parent && (parent as { by?: unknown }).by === n && !n.table;
        if (byOutput && outputAliases.has(String(n.name).toLowerCase())) return false;
        const r = resolve(n as { name: string });
        if (!r) {
          if (!byOutput) valid = false;
          return false;
        }
        if (r.item !== preserved) valid = false;
      }
      return true;
    });
  }
  if (!valid || aggregates.length === 0) return undefined;
  if (aggregates.some((a) => !/^[a-z_]+\s*\(/i.test(a.text) || !a.text.endsWith(')'))) return undefined;

  // The joined side's query, aggregated per join key.
  const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const select: string[] = keys.map((k, i) => `${q(k.joined.item.alias)}.${q(k.joined.column)} AS k${i}`);
  const combine: string[] = [];
  let p = 0;
  for (const a of aggregates) {
    const args = a.text.slice(a.text.indexOf('('));
    if (a.fn === 'avg') {
      select.push(`sum${args} AS p${p}`, `count${args} AS p${p + 1}`);
      combine.push(`(CAST(sum(${EAGER_TABLE}.p${p}) AS DOUBLE) / sum(${EAGER_TABLE}.p${p + 1}))`);
      p += 2;
      continue;
    }
    select.push(`${a.text} AS p${p}`);
    combine.push(
      a.fn === 'count' ? `coalesce(sum(${EAGER_TABLE}.p${p}), ${a.star ? 'count(*)' : '0'})` : `${a.fn}(${EAGER_TABLE}.p${p})`,
    );
    p++;
  }
  const clauseStart = (node: unknown, keyword: RegExp): number | undefined => {
    const l = loc(node);
    const m = l ? keyword.exec(sql.slice(0, l.start)) : null;
    return m ? m.index : undefined;
  };
  const fromEnd = block.where ? clauseStart(block.where, /WHERE[\s(]*$/i) : clauseStart(block.groupBy[0], /GROUP\s+BY\s*$/i);
  const joinStart = loc(block.from[1])?.start;
  const laterStart = block.from[2] ? loc(block.from[2])?.start : fromEnd;
  if (fromEnd === undefined || joinStart === undefined || laterStart === undefined) return undefined;
  const first = block.from[1]!.name as { name: string; schema?: string };
  const innerFrom = `${first.schema ? `${q(first.schema)}.` : ''}${q(first.name)} AS ${q(joined[0]!.alias)} ${sql.slice(laterStart, fromEnd)}`;
  // Conditions of the WHERE on the preserved side's join key hold for the joined key too (a row
  // whose key fails them matches no preserved row): carried over, they filter at the sites.
  const carried: string[] = [];
  const scope = relationScope(preserved.access.relation.relation);
  for (const c of conjuncts(block.where)) {
    let p: Predicate;
    try {
      p = predicateFromExpr(c, sql, {
        description: scope.description,
        resolve: (name, qualifier) =>
          qualifier && qualifier.toLowerCase() !== preserved.alias ? undefined : scope.resolve(name),
      });
    } catch {
      continue;
    }
    const vars = [...variablesOf(p).values()];
    const mapped = vars.map((v) => keys.find((k) => k.preserved === v.name && k.joined.item === joined[0]));
    if (vars.length === 0 || mapped.some((k) => !k)) continue;
    const sameFamily = mapped.every((k, i) => {
      const t = k!.joined.item.access.relation.relation.columns.find((x) => x.name === k!.joined.column)?.type.family;
      return t === vars[i]!.type.family;
    });
    if (!sameFamily) continue;
    carried.push(
      `(${renderSql(p, {
        ...postgresStyle,
        column: (v) => {
          const k = keys.find((x) => x.preserved === v.name)!;
          return `${q(k.joined.item.alias)}.${q(k.joined.column)}`;
        },
      })})`,
    );
  }
  const innerSql = `SELECT ${select.join(', ')} FROM ${innerFrom.trim()}${carried.length ? ` WHERE ${carried.join(' AND ')}` : ''} GROUP BY ${keys
    .map((k) => `${q(k.joined.item.alias)}.${q(k.joined.column)}`)
    .join(', ')}`;
  let innerStatement = parsedInner.get(innerSql);
  if (!innerStatement) {
    try {
      innerStatement = parseQuery(innerSql);
    } catch {
      return undefined;
    }
    if (parsedInner.size >= 64) parsedInner.delete(parsedInner.keys().next().value!);
    parsedInner.set(innerSql, innerStatement);
  }
  const inner = planSlicePushdown(
    innerSql,
    innerStatement,
    joined.map((j) => j.access),
  );
  if (!inner) return undefined;

  // The user's query: the joined side replaced by the partials, aggregates by their combination.
  const on = keys.map((k, i) => `${EAGER_TABLE}.k${i} = ${q(preserved.alias)}.${q(k.preserved)}`).join(' AND ');
  const splices = [
    { start: joinStart, end: fromEnd, text: `LEFT JOIN (${inner.rewritten}) AS ${EAGER_TABLE} ON ${on} ` },
    ...aggregates.map((a, i) => ({ ...loc(a.node)!, text: combine[i]! })),
  ].sort((x, y) => y.start - x.start);
  let rewritten = sql;
  let lastStart = Infinity;
  for (const s of splices) {
    if (s.end > lastStart) return undefined;
    rewritten = rewritten.slice(0, s.start) + s.text + rewritten.slice(s.end);
    lastStart = s.start;
  }
  return { preserved: preserved.access, inner, innerSql, rewritten };
}
