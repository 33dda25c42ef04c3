/**
 * A seeded generator of global queries over a catalog: joins along foreign keys (inner, left,
 * right, full), filters built from constants sampled from the data (comparisons, IN lists,
 * IS [NOT] NULL, BETWEEN, LIKE, combined with AND / OR / NOT), aggregates with GROUP BY / HAVING,
 * DISTINCT, and ORDER BY + LIMIT / OFFSET on a unique key of the result (then compared in order).
 * Deterministic for a given seed and sample.
 */
import type { Catalog, Column, Relation } from '../../../src/catalog/types.js';

/** mulberry32: a tiny deterministic PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Sampled non-null values per relation and column (canonical values from the source). */
export type Samples = Map<string, Map<string, unknown[]>>;

export interface GeneratedQuery {
  sql: string;
  ordered: boolean;
}

interface Item {
  alias: string;
  relation: Relation;
}

class Random {
  constructor(readonly next: () => number) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  weighted<T>(xs: ReadonlyArray<readonly [T, number]>): T {
    const total = xs.reduce((s, [, w]) => s + w, 0);
    let r = this.next() * total;
    for (const [x, w] of xs) if ((r -= w) < 0) return x;
    return xs[xs.length - 1]![0];
  }
  subset<T>(xs: readonly T[], n: number): T[] {
    const copy = [...xs];
    const out: T[] = [];
    while (out.length < n && copy.length > 0) out.push(copy.splice(Math.floor(this.next() * copy.length), 1)[0]!);
    return out;
  }
}

export function literal(v: unknown, column: Column): string {
  switch (column.type.family) {
    case 'integer':
    case 'decimal':
    case 'float':
      return String(v);
    case 'boolean':
      return v ? 'TRUE' : 'FALSE';
    case 'date':
      return `DATE '${String(v)}'`;
    case 'timestamp':
      return `TIMESTAMP '${String(v).replace('T', ' ')}'`;
    case 'timestamptz':
      return `TIMESTAMPTZ '${String(v).replace('T', ' ').replace(/Z$/, '+00:00')}'`;
    default:
      return `'${String(v).replace(/'/g, "''")}'`;
  }
}

const NUMERIC = new Set(['integer', 'decimal', 'float']);
const ORDERED = new Set(['integer', 'decimal', 'float', 'date', 'timestamp', 'timestamptz', 'text']);

export interface GeneratorOptions {
  seed: number;
  count: number;
  /** Relative chance of each relation as the first one of a query. */
  weights?: Record<string, number>;
  /** Relations with at least this many rows get ORDER BY … LIMIT when their query has no filter. */
  bigRelations?: Set<string>;
}

export function generateQueries(catalog: Catalog, samples: Samples, options: GeneratorOptions): GeneratedQuery[] {
  const r = new Random(prng(options.seed));
  const out: GeneratedQuery[] = [];
  const seen = new Set<string>();
  let attempts = 0;
  while (out.length < options.count && attempts++ < options.count * 20) {
    const q = generateOne(r, catalog, samples, options);
    if (q && !seen.has(q.sql)) {
      seen.add(q.sql);
      out.push(q);
    }
  }
  return out;
}

function generateOne(r: Random, catalog: Catalog, samples: Samples, options: GeneratorOptions): GeneratedQuery | undefined {
  const rels = catalog.relations;
  const base = r.weighted(rels.map((x) => [x, options.weights?.[x.name] ?? 1] as const));
  const items: Item[] = [{ alias: 't0', relation: base }];
  const from: string[] = [`${base.name} t0`];
  // A unique key of the join result, while every join keeps it unique (inner / left joins along keys).
  let key: string[] | undefined = base.primaryKey.map((c) => `t0.${c}`);

  const joins = r.weighted([
    [0, 3],
    [1, 4],
    [2, 3],
  ] as const);
  for (let j = 0; j < joins; j++) {
    const edges: Array<{ relation: Relation; on: string; toChild: boolean }> = [];
    for (const it of items) {
      for (const fk of it.relation.foreignKeys) {
        const parent = rels.find((x) => x.name === fk.references.relation);
        if (!parent || items.some((i) => i.relation === parent)) continue;
        const alias = `t${items.length}`;
        edges.push({
          relation: parent,
          on: fk.columns.map((c, k) => `${alias}.${fk.references.columns[k]} = ${it.alias}.${c}`).join(' AND '),
          toChild: false,
        });
      }
      for (const child of rels) {
        if (items.some((i) => i.relation === child)) continue;
        for (const fk of child.foreignKeys) {
          if (fk.references.relation !== it.relation.name) continue;
          const alias = `t${items.length}`;
          edges.push({
            relation: child,
            on: fk.columns.map((c, k) => `${alias}.${c} = ${it.alias}.${fk.references.columns[k]}`).join(' AND '),
            toChild: true,
          });
        }
      }
    }
    if (edges.length === 0) break;
    const edge = r.pick(edges);
    const alias = `t${items.length}`;
    const type = r.weighted([
      ['JOIN', 14],
      ['LEFT JOIN', 4],
      ['RIGHT JOIN', 1],
      ['FULL JOIN', 1],
    ] as const);
    from.push(`${type} ${edge.relation.name} ${alias} ON ${edge.on}`);
    items.push({ alias, relation: edge.relation });
    if (type === 'RIGHT JOIN' || type === 'FULL JOIN') key = undefined;
    else if (key && edge.toChild) key = [...key, ...edge.relation.primaryKey.map((c) => `${alias}.${c}`)];
  }

  const columnsOf = (it: Item) => it.relation.columns.map((c) => ({ it, c, ref: `${it.alias}.${c.name}` }));
  const all = items.flatMap(columnsOf);

  // ── WHERE ──
  const atom = (): string | undefined => {
    const { it, c, ref } = r.pick(all);
    const values = samples.get(it.relation.name)?.get(c.name) ?? [];
    const family = c.type.family;
    const forms: Array<readonly [string, number]> = [];
    if (values.length > 0) {
      forms.push(['eq', 3], ['in', 2]);
      if (ORDERED.has(family)) forms.push(['cmp', 4], ['between', 2]);
      if (family === 'text') forms.push(['like', 1]);
    }
    if (c.nullable) forms.push(['null', 2]);
    if (forms.length === 0) return undefined;
    const v = () => literal(r.pick(values), c);
    switch (r.weighted(forms)) {
      case 'eq':
        return `${ref} ${r.pick(['=', '<>'])} ${v()}`;
      case 'in':
        return `${ref} ${r.chance(0.2) ? 'NOT IN' : 'IN'} (${Array.from({ length: r.int(1, 4) }, v).join(', ')})`;
      case 'cmp':
        return `${ref} ${r.pick(['<', '<=', '>', '>='])} ${v()}`;
      case 'between': {
        const [a, b] = [r.pick(values), r.pick(values)];
        const lo = compare(a, b, family) <= 0 ? a : b;
        const hi = lo === a ? b : a;
        return `${ref} BETWEEN ${literal(lo, c)} AND ${literal(hi, c)}`;
      }
      case 'like': {
        const s = String(r.pick(values));
        return `${ref} LIKE '${s.slice(0, r.int(1, 3)).replace(/'/g, "''").replace(/[%_]/g, '')}%'`;
      }
      case 'null':
        return `${ref} IS ${r.chance(0.5) ? 'NOT ' : ''}NULL`;
    }
    return undefined;
  };
  const condition = (depth: number): string | undefined => {
    if (depth > 0 && r.chance(0.35)) {
      const a = condition(depth - 1);
      const b = condition(depth - 1);
      if (!a || !b) return a ?? b;
      return `(${a} ${r.chance(0.6) ? 'AND' : 'OR'} ${b})`;
    }
    const x = atom();
    return x && r.chance(0.1) ? `NOT (${x})` : x;
  };
  const where: string[] = [];
  const nConditions = r.weighted([
    [0, 2],
    [1, 4],
    [2, 3],
    [3, 1],
  ] as const);
  for (let i = 0; i < nConditions; i++) {
    const c = condition(2);
    if (c) where.push(c);
  }
  const whereSql = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
  const big = items.some((i) => options.bigRelations?.has(i.relation.name));

  // ── Shape ──
  const shape = r.weighted([
    ['rows', 4],
    ['agg', 4],
    ['distinct', 2],
  ] as const);
  const fromSql = ` FROM ${from.join(' ')}`;

  if (shape === 'rows') {
    const cols = r.subset(all, r.int(1, 4)).map((x) => x.ref);
    const limited = key !== undefined && (r.chance(0.6) || (big && where.length === 0));
    if (!limited) {
      if (big && where.length === 0) return undefined;
      return { sql: `SELECT ${cols.join(', ')}${fromSql}${whereSql}`, ordered: false };
    }
    const dir = r.chance(0.3) ? ' DESC' : '';
    const order = key!.map((k) => `${k}${dir}`).join(', ');
    const offset = r.chance(0.3) ? ` OFFSET ${r.int(1, 20)}` : '';
    return {
      sql: `SELECT ${cols.join(', ')}${fromSql}${whereSql} ORDER BY ${order} LIMIT ${r.int(1, 40)}${offset}`,
      ordered: true,
    };
  }

  if (shape === 'distinct') {
    const cols = r.subset(all, r.int(1, 2)).map((x) => x.ref);
    if (r.chance(0.5)) {
      const dir = r.chance(0.3) ? ' DESC' : '';
      return {
        sql: `SELECT DISTINCT ${cols.join(', ')}${fromSql}${whereSql} ORDER BY ${cols.map((c) => `${c}${dir}`).join(', ')} LIMIT ${r.int(1, 30)}`,
        ordered: true,
      };
    }
    return { sql: `SELECT DISTINCT ${cols.join(', ')}${fromSql}${whereSql}`, ordered: false };
  }

  // agg: group by low-cardinality columns (few distinct sampled values)
  const groupable = all.filter((x) => {
    const n = new Set(samples.get(x.it.relation.name)?.get(x.c.name) ?? []).size;
    return x.c.type.family !== 'boolean' && n > 0 && n <= 12;
  });
  const groups = r
    .subset(
      groupable,
      r.weighted([
        [0, 1],
        [1, 3],
        [2, 2],
      ] as const),
    )
    .map((x) => x.ref);
  const aggs: string[] = [];
  const nAggs = r.int(1, 3);
  for (let i = 0; i < nAggs; i++) {
    const { c, ref } = r.pick(all);
    const numeric = NUMERIC.has(c.type.family);
    const fn = r.weighted([
      ['count(*)', 2],
      [`count(${ref})`, 1],
      [`count(DISTINCT ${ref})`, 2],
      [numeric ? `sum(${ref})` : `count(*)`, numeric ? 3 : 0.1],
      [numeric ? `avg(${ref})` : `count(*)`, numeric ? 3 : 0.1],
      [c.type.family === 'boolean' ? 'count(*)' : `min(${ref})`, 2],
      [c.type.family === 'boolean' ? 'count(*)' : `max(${ref})`, 2],
    ] as const);
    aggs.push(`${fn} AS a${i}`);
  }
  const having = groups.length > 0 && r.chance(0.25) ? ` HAVING count(*) > ${r.int(0, 50)}` : '';
  const groupSql = groups.length > 0 ? ` GROUP BY ${groups.join(', ')}` : '';
  const ordered = groups.length > 0 && r.chance(0.6);
  const orderSql = ordered
    ? ` ORDER BY ${groups.map((g) => `${g}${r.chance(0.3) ? ' DESC' : ''}`).join(', ')}${r.chance(0.4) ? ` LIMIT ${r.int(1, 10)}` : ''}`
    : '';
  return { sql: `SELECT ${[...groups, ...aggs].join(', ')}${fromSql}${whereSql}${groupSql}${having}${orderSql}`, ordered };
}

function compare(a: unknown, b: unknown, family: string): number {
  if (NUMERIC.has(family)) return Number(a) - Number(b);
  const [x, y] = [String(a), String(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}
