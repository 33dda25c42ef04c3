/**
 * SQLite sites through better-sqlite3 (synchronous, in-process): `file:PATH` or `memory:`.
 * Bulk loads reuse one prepared INSERT inside one transaction. Integers are read as bigints
 * (safeIntegers) so that nothing beyond 2^53 is rounded, then made canonical.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { Catalog, ColumnType } from '../../catalog/types.js';
import { BaseConnector, siteFailure } from '../base-connector.js';
import type { Capabilities, LoadColumn, ResolvedSite, SiteConnector } from '../connector.js';
import { canonicalInteger, canonicalValue, looseValue, valueTypeOf, type ValueType } from '../values.js';
import { SqliteDialect } from './dialect.js';
import { introspectSqlite, mapSqliteType } from './introspect.js';

export const SQLITE_CAPABILITIES: Capabilities = {
  twoPhaseCommit: false,
  transactionalDdl: true,
  bulkLoad: 'prepared-insert',
  returning: true,
  linkableFromPostgres: false,
  linkableFromMariaDb: false,
  windowFunctions: true,
  concurrentSessions: false,
};

/** The value type of a result column, from its declared type (expressions have none). */
function declaredType(declared: string | null): ValueType | undefined {
  if (declared === null) return undefined;
  const t = mapSqliteType(declared);
  return t.family === 'other' ? undefined : valueTypeOf(t);
}

function readValue(v: unknown, t: ValueType | undefined): unknown {
  return t === undefined ? looseValue(v) : canonicalValue(v, t);
}

/** How a canonical value is bound: SQLite has no booleans, dates or decimals of its own. */
function bindValue(v: unknown, t: ValueType): unknown {
  if (v === null || v === undefined) return null;
  switch (t.family) {
    case 'integer': {
      const c = canonicalInteger(v);
      return typeof c === 'number' ? c : BigInt(c);
    }
    case 'boolean':
      return canonicalValue(v, t) ? 1 : 0;
    case 'float':
      return typeof v === 'number' ? v : Number(v);
    case 'timestamptz':
      // Stored as UTC text without the 'Z': with trimmed fractions, text order is then time order
      // ('…:55Z' would sort after '…:55.1Z').
      return String(canonicalValue(v, t)).replace(/Z$/, '');
    default:
      return canonicalValue(v, t);
  }
}

/** Parameters of `query`: booleans become 0/1, which better-sqlite3 would refuse. */
function bindParam(v: unknown): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v === undefined) return null;
  return v;
}

export class SqliteConnector extends BaseConnector {
  readonly dialect = new SqliteDialect();
  readonly capabilities = SQLITE_CAPABILITIES;

  constructor(
    address: ResolvedSite,
    readonly db: Database,
  ) {
    super(address);
  }

  async version(): Promise<string> {
    const rows = await this.query<{ v: string }>('SELECT sqlite_version() AS v');
    return `SQLite ${String(rows[0]?.v ?? '')}`;
  }

  async execute(sql: string): Promise<void> {
    await this.guard('statement failed', async () => this.db.exec(sql), sql);
  }

  async modify(sql: string): Promise<number> {
    return this.guard('statement failed', async () => this.db.prepare(sql).run().changes, sql);
  }

  async query<Row extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
  ): Promise<Row[]> {
    return this.guard(
      'query failed',
      async () => {
        const stmt = this.db.prepare(sql);
        const args = params.map(bindParam);
        if (!stmt.reader) {
          stmt.run(...args);
          return [];
        }
        stmt.safeIntegers(true).raw(true);
        const cols = stmt.columns();
        const types = cols.map((c) => declaredType(c.type));
        return (stmt.all(...args) as unknown[][]).map((raw) => {
          const row: Record<string, unknown> = {};
          cols.forEach((c, i) => {
            row[c.name] = readValue(raw[i], types[i]);
          });
          return row as Row;
        });
      },
      sql,
    );
  }

  async *stream(sql: string, batchSize = 1000, hints?: readonly ColumnType[]): AsyncIterable<unknown[][]> {
    let stmt: Statement;
    let types: (ValueType | undefined)[];
    try {
      stmt = this.db.prepare(sql).safeIntegers(true).raw(true);
      const hinted = hints?.map(valueTypeOf);
      types = stmt.columns().map((c, i) => hinted?.[i] ?? declaredType(c.type));
    } catch (e) {
      throw this.fail(e, 'query failed', sql);
    }
    const it = stmt.iterate() as IterableIterator<unknown[]>;
    try {
      let batch: unknown[][] = [];
      for (const raw of it) {
        batch.push(raw.map((v, i) => readValue(v, types[i])));
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    } catch (e) {
      throw this.fail(e, 'query failed', sql);
    } finally {
      it.return?.();
    }
  }

  async bulkLoad(
    table: string,
    columns: readonly LoadColumn[],
    rows: AsyncIterable<unknown[][]> | Iterable<unknown[][]>,
  ): Promise<number> {
    const q = (n: string): string => this.dialect.quoteIdentifier(n);
    const sql = `INSERT INTO ${q(table)} (${columns.map((c) => q(c.name)).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
    const types = columns.map((c) => valueTypeOf(c.type));
    return this.atomically(() =>
      this.guard(
        `bulk load into ${table} failed`,
        async () => {
          const insert = this.db.prepare(sql);
          let loaded = 0;
          const args: unknown[] = new Array(types.length);
          for await (const batch of rows) {
            for (const row of batch) {
              for (let i = 0; i < types.length; i++) args[i] = bindValue(row[i], types[i]!);
              insert.run(...args);
            }
            loaded += batch.length;
          }
          return loaded;
        },
        sql,
      ),
    );
  }

  async introspect(): Promise<Catalog> {
    return this.guard('introspection failed', () => introspectSqlite(this));
  }

  protected async closeDriver(): Promise<void> {
    this.db.close();
  }
}

export async function openSqliteConnector(site: ResolvedSite): Promise<SiteConnector> {
  const mod = await import('better-sqlite3');
  const DatabaseCtor = mod.default;
  let db: Database;
  try {
    db = new DatabaseCtor(site.file ?? ':memory:');
    db.pragma('journal_mode = WAL');
  } catch (e) {
    throw siteFailure(site, e, `cannot open ${site.shownUrl}`);
  }
  return new SqliteConnector(site, db);
}
