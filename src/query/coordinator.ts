/**
 * The coordinator: an in-process DuckDB where the fetched fragment rows land, each global relation
 * is rebuilt from them (unions, key joins, implied constants), and the user's query runs unchanged —
 * joins across sites, aggregation, sorting, windows, subqueries are a real engine's work, not
 * hand-written row loops. DuckDB is set to PostgreSQL's semantics where they differ (integer
 * division, NULL ordering, UTC).
 */
import type { Column, Relation } from '../catalog/types.js';
import { openConnector } from '../engines/connector.js';
import type { DuckDbConnector } from '../engines/duckdb/connector.js';
import { duckDbDialect } from '../engines/duckdb/dialect.js';
import { domainOf } from '../predicate/index.js';
import { QueryError } from './errors.js';
import type { FragmentAccess, ReducedPlan } from './localize.js';

const SETUP = [
  'SET integer_division = true',
  "SET default_null_order = 'nulls_last_on_asc_first_on_desc'",
  "SET TimeZone = 'UTC'",
];

/** Serializes work on the coordinator's single connection. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => {});
    return next;
  }
}

export class Coordinator {
  private readonly lock = new Mutex();
  private tableCount = 0;

  private constructor(readonly duck: DuckDbConnector) {}

  static async open(): Promise<Coordinator> {
    const duck = (await openConnector({ name: 'coordinator', engine: 'duckdb', url: 'memory:' }, '.')) as DuckDbConnector;
    for (const s of SETUP) await duck.execute(s);
    return new Coordinator(duck);
  }

  /** Starts a query: the coordinator is private, so the previous query's tables are simply dropped. */
  async reset(): Promise<void> {
    this.tableCount = 0;
    await this.lock.run(async () => {
      const views = await this.duck.query<{ name: string }>(
        "SELECT view_name AS name FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal",
      );
      for (const v of views) await this.duck.execute(`DROP VIEW ${this.q(v.name)}`);
      const tables = await this.duck.query<{ name: string }>(
        "SELECT table_name AS name FROM duckdb_tables() WHERE schema_name = 'main'",
      );
      for (const t of tables) await this.duck.execute(`DROP TABLE ${this.q(t.name)}`);
    });
  }

  /** A new table for one fragment's fetched rows; returns its name. */
  async createFragmentTable(columns: Column[], name = `ddbkit_f${++this.tableCount}`): Promise<string> {
    const loose = columns.map((c) => ({ ...c, nullable: true }));
    await this.lock.run(async () => {
      for (const ddl of this.duck.dialect.createTable(name, loose, [])) await this.duck.execute(ddl);
    });
    return name;
  }

  /**
   * Appends a site's rows as they arrive. The connection is taken only once the first rows are
   * there: a site still computing (a GROUP BY, a sort) does not keep the other sites' rows waiting.
   * Then the whole stream is appended in one call (each call has a fixed cost: a transaction, an
   * appender).
   */
  async load(table: string, columns: Column[], batches: AsyncIterable<unknown[][]>): Promise<number> {
    const load = columns.map((c) => ({ name: c.name, type: c.type }));
    const it = batches[Symbol.asyncIterator]();
    const first = await it.next();
    if (first.done) return 0;
    const rest = (async function* () {
      yield first.value;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    })();
    return this.lock.run(() => this.duck.bulkLoad(table, load, rest));
  }

  /**
   * Rebuilds a global relation (only the columns the query reads) from the fragment tables, as a
   * view: the query reads the fragment tables directly, nothing is copied.
   */
  async rebuild(relation: Relation, columns: string[], plan: ReducedPlan, tableOf: (access: unknown) => string): Promise<string> {
    const sql = `CREATE VIEW ${this.q(relation.name)} AS ${rebuildSelect(relation, columns, plan, tableOf, (n) => this.q(n))}`;
    await this.lock.run(() => this.duck.execute(sql));
    return sql;
  }

  async run(sql: string, batchSize = 2000): ReturnType<DuckDbConnector['result']> {
    return this.lock.run(() => this.duck.result(sql, batchSize));
  }

  /**
   * Runs the query the answer comes from (the user's query over the rebuilt relations, or its
   * rewriting over partial groups): its failure is the query's, a QueryError with DuckDB's
   * prefix taken off.
   */
  async answer(sql: string): ReturnType<DuckDbConnector['result']> {
    try {
      return await this.run(sql);
    } catch (e) {
      const message = ((e as Error).message ?? String(e)).replace(/^site coordinator \(duckdb\): query failed: /, '');
      throw new QueryError(`the coordinator could not run the query: ${message}`, 'EXECUTION');
    }
  }

  async close(): Promise<void> {
    await this.duck.close();
  }

  private q(name: string): string {
    return this.duck.dialect.quoteIdentifier(name);
  }
}

/** The SELECT rebuilding a relation's needed columns from the fetched fragment tables. */
export function rebuildSelect(
  relation: Relation,
  columns: string[],
  plan: ReducedPlan,
  tableOf: (access: unknown) => string,
  q: (name: string) => string,
): string {
  const wanted = relation.columns.filter((c) => columns.includes(c.name));
  const typed = (c: Column) => `CAST(NULL AS ${duckType(c)})`;
  if (plan.kind === 'empty') return `SELECT ${wanted.map((c) => `${typed(c)} AS ${q(c.name)}`).join(', ')} WHERE 1 = 0`;
  let alias = 0;
  const body = (p: ReducedPlan): { sql: string; columns: string[] } => {
    switch (p.kind) {
      case 'empty':
        return { sql: 'SELECT 1 WHERE 1 = 0', columns: [] };
      case 'fragment': {
        const stored = p.access.columns;
        const items = stored.map((c) => q(c));
        for (const [c, key] of p.implied) {
          const column = relation.columns.find((x) => x.name === c)!;
          items.push(
            key === null
              ? `${typed(column)} AS ${q(c)}`
              : `CAST(${domainOf(column.type).toSql(key)} AS ${duckType(column)}) AS ${q(c)}`,
          );
        }
        return { sql: `SELECT ${items.join(', ')} FROM ${q(tableOf(p.access))}`, columns: [...stored, ...p.implied.keys()] };
      }
      case 'union': {
        const parts = p.parts.map(body);
        const cols = relation.columns.map((c) => c.name).filter((c) => parts.some((x) => x.columns.includes(c)));
        const selects = parts.map((x) => {
          const a = `u${alias++}`;
          return `SELECT ${cols.map((c) => (x.columns.includes(c) ? `${a}.${q(c)}` : `${typed(relation.columns.find((y) => y.name === c)!)} AS ${q(c)}`)).join(', ')} FROM (${x.sql}) AS ${a}`;
        });
        // Fragments declared with overlap: allowed may hold a row twice: then a set union.
        const overlap = leavesOf(p).some((a) => a.fragment.overlapAllowed);
        return { sql: selects.join(overlap ? ' UNION ' : ' UNION ALL '), columns: cols };
      }
      case 'join': {
        const parts = p.parts.map((x) => ({ ...body(x), alias: `j${alias++}` }));
        const first = parts[0]!;
        const cols = relation.columns.map((c) => c.name).filter((c) => parts.some((x) => x.columns.includes(c)));
        const items = cols.map((c) => `${(p.key.includes(c) ? first : parts.find((x) => x.columns.includes(c))!).alias}.${q(c)}`);
        let from = `(${first.sql}) AS ${first.alias}`;
        for (const x of parts.slice(1)) {
          from += ` JOIN (${x.sql}) AS ${x.alias} ON ${p.key.map((k) => `${first.alias}.${q(k)} = ${x.alias}.${q(k)}`).join(' AND ')}`;
        }
        return { sql: `SELECT ${items.join(', ')} FROM ${from}`, columns: cols };
      }
    }
  };
  const b = body(plan);
  return `SELECT ${wanted.map((c) => (b.columns.includes(c.name) ? `t.${q(c.name)}` : `${typed(c)} AS ${q(c.name)}`)).join(', ')} FROM (${b.sql}) AS t`;
}

/** DuckDB's spelling of a column's type, through the DuckDB dialect (one source of truth). */
function duckType(c: Column): string {
  return duckDbDialect.columnType(c);
}

function leavesOf(p: ReducedPlan): FragmentAccess[] {
  if (p.kind === 'fragment') return [p.access];
  if (p.kind === 'union' || p.kind === 'join') return p.parts.flatMap(leavesOf);
  return [];
}
