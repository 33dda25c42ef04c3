/**
 * DuckDB sites through @duckdb/node-api (in-process): `file:PATH` or `memory:`. Bulk loads use the
 * appender (typed appends where cheap; DuckDB casts canonical text for the rest, exactly).
 */
import type { DuckDBAppender, DuckDBConnection, DuckDBInstance, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import type { Catalog, ColumnType } from '../../catalog/types.js';
import { BaseConnector, siteFailure } from '../base-connector.js';
import type { Capabilities, LoadColumn, ResolvedSite, SiteConnector } from '../connector.js';
import {
  canonicalBinary,
  canonicalBoolean,
  canonicalInteger,
  canonicalValue,
  looseValue,
  valueTypeOf,
  type ValueType,
} from '../values.js';
import { DuckDbDialect } from './dialect.js';
import { introspectDuckDb } from './introspect.js';

export const DUCKDB_CAPABILITIES: Capabilities = {
  twoPhaseCommit: false,
  transactionalDdl: true,
  bulkLoad: 'appender',
  returning: true,
  linkableFromPostgres: false,
  linkableFromMariaDb: false,
  windowFunctions: true,
  concurrentSessions: false,
};

/** DuckDBTypeId values (the enum is not imported so that this file loads no driver). */
const TYPE_FAMILY: Readonly<Record<number, ValueType['family']>> = {
  1: 'boolean',
  2: 'integer',
  3: 'integer',
  4: 'integer',
  5: 'integer',
  6: 'integer',
  7: 'integer',
  8: 'integer',
  9: 'integer',
  16: 'integer',
  32: 'integer',
  10: 'float',
  11: 'float',
  12: 'timestamp',
  20: 'timestamp',
  21: 'timestamp',
  22: 'timestamp',
  13: 'date',
  14: 'time',
  17: 'text',
  18: 'binary',
  19: 'decimal',
  27: 'uuid',
  31: 'timestamptz',
};

function resultType(t: DuckDBType): ValueType | undefined {
  const family = TYPE_FAMILY[t.typeId];
  if (family === undefined) return undefined;
  if (family === 'decimal') return { family, scale: (t as unknown as { scale: number }).scale };
  return { family };
}

/** DuckDB value objects (decimals, dates, blobs…) print their SQL text; canonicalValue reads that. */
function readValue(v: DuckDBValue | undefined, t: ValueType | undefined): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'object' && 'bytes' in v && v.bytes instanceof Uint8Array) return canonicalBinary(v.bytes);
  if (t === undefined) return typeof v === 'object' ? String(v) : looseValue(v);
  return canonicalValue(typeof v === 'object' ? String(v) : v, t);
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** Digits of a plain decimal text without its sign, point and leading zeros. */
function significantDigits(text: string): number {
  let n = 0;
  let leading = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) continue;
    if (leading && c === 48) continue;
    leading = false;
    n++;
  }
  return n;
}

function append(appender: DuckDBAppender, v: unknown, t: ValueType): void {
  if (v === null || v === undefined) return appender.appendNull();
  switch (t.family) {
    case 'integer': {
      const c = canonicalInteger(v);
      if (typeof c === 'number' && c >= INT32_MIN && c <= INT32_MAX) return appender.appendInteger(c);
      return appender.appendBigInt(BigInt(c));
    }
    case 'boolean':
      return appender.appendBoolean(canonicalBoolean(v));
    case 'float':
      return appender.appendDouble(typeof v === 'number' ? v : Number(v));
    case 'binary':
      return appender.appendBlob(canonicalBinary(v));
    case 'decimal': {
      // Text into a DECIMAL wider than 18 digits is cast value by value, ~13 µs each (a million
      // partial sums: seconds). A double holding at most 15 significant digits is exact and
      // DuckDB rounds it back to the same decimal; longer values keep the exact text path.
      // (The digits counted are those of the value times 10^scale: the text has exactly `scale`
      // fraction digits, so the scaled integer stays below 10^15 and rounds back exactly.)
      const text = String(canonicalValue(v, t));
      const dot = text.indexOf('.');
      const fraction = dot < 0 ? 0 : text.length - dot - 1;
      if (t.scale !== undefined && fraction === t.scale && significantDigits(text) <= 15)
        return appender.appendDouble(Number(text));
      return appender.appendVarchar(text);
    }
    default:
      return appender.appendVarchar(String(canonicalValue(v, t)));
  }
}

export class DuckDbConnector extends BaseConnector {
  readonly dialect = new DuckDbDialect();
  readonly capabilities = DUCKDB_CAPABILITIES;

  constructor(
    address: ResolvedSite,
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {
    super(address);
  }

  async version(): Promise<string> {
    const rows = await this.query<{ v: string }>('SELECT version() AS v');
    return `DuckDB ${String(rows[0]?.v ?? '')}`;
  }

  async execute(sql: string): Promise<void> {
    await this.guard('statement failed', () => this.conn.run(sql), sql);
  }

  async modify(sql: string): Promise<number> {
    return this.guard(
      'statement failed',
      async () => {
        // DuckDB answers INSERT/UPDATE/DELETE with one row holding the count.
        const reader = await this.conn.runAndReadAll(sql);
        return Number(reader.getRows()[0]?.[0] ?? 0);
      },
      sql,
    );
  }

  async query<Row extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]> {
    return this.guard(
      'query failed',
      async () => {
        const reader = await this.conn.runAndReadAll(sql, params as DuckDBValue[] | undefined);
        const names = reader.columnNames();
        const types = reader.columnTypes().map(resultType);
        return reader.getRows().map((raw) => {
          const row: Record<string, unknown> = {};
          names.forEach((n, i) => {
            row[n] = readValue(raw[i], types[i]);
          });
          return row as Row;
        });
      },
      sql,
    );
  }

  /**
   * Runs a query and returns its column names with the row batches: what a coordinator needs to
   * hand a result to its caller (stream() alone gives no names).
   */
  async result(
    sql: string,
    batchSize = 1000,
  ): Promise<{ columns: string[]; families: Array<ValueType['family'] | undefined>; batches: AsyncIterable<unknown[][]> }> {
    const result = await this.guard('query failed', () => this.conn.stream(sql), sql);
    return {
      columns: result.columnNames(),
      families: result.columnTypes().map((t) => resultType(t)?.family),
      batches: this.batchesOf(result, sql, batchSize),
    };
  }

  async *stream(sql: string, batchSize = 1000, hints?: readonly ColumnType[]): AsyncIterable<unknown[][]> {
    const result = await this.guard('query failed', () => this.conn.stream(sql), sql);
    yield* this.batchesOf(result, sql, batchSize, hints);
  }

  private async *batchesOf(
    result: Awaited<ReturnType<DuckDBConnection['stream']>>,
    sql: string,
    batchSize: number,
    hints?: readonly ColumnType[],
  ): AsyncIterable<unknown[][]> {
    const hinted = hints?.map(valueTypeOf);
    const types = result.columnTypes().map((t, i) => hinted?.[i] ?? resultType(t));
    let batch: unknown[][] = [];
    try {
      // One DuckDB chunk (≤ 2048 rows) at a time, re-cut to the batch size asked for.
      for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
        for (const raw of chunk.getRows()) {
          batch.push(raw.map((v, i) => readValue(v, types[i])));
          if (batch.length >= batchSize) {
            yield batch;
            batch = [];
          }
        }
      }
    } catch (e) {
      throw this.fail(e, 'query failed', sql);
    }
    if (batch.length > 0) yield batch;
  }

  async bulkLoad(
    table: string,
    columns: readonly LoadColumn[],
    rows: AsyncIterable<unknown[][]> | Iterable<unknown[][]>,
  ): Promise<number> {
    const types = columns.map((c) => valueTypeOf(c.type));
    // The appender fills every column of the table in order: check the columns line up.
    const actual = await this.query<{ name: string }>(
      `SELECT column_name AS name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = $1 ORDER BY ordinal_position`,
      [table],
    );
    const expected = columns.map((c) => c.name);
    if (actual.map((r) => r.name).join('\u0000') !== expected.join('\u0000')) {
      throw this.fail(
        new Error(
          `the appender needs every column of ${table} in table order (${actual.map((r) => r.name).join(', ')}), got ${expected.join(', ')}`,
        ),
        `bulk load into ${table} failed`,
      );
    }
    return this.atomically(() =>
      this.guard(`bulk load into ${table} failed`, async () => {
        const appender = await this.conn.createAppender(table);
        let loaded = 0;
        try {
          for await (const batch of rows) {
            for (const row of batch) {
              for (let i = 0; i < types.length; i++) append(appender, row[i], types[i]!);
              appender.endRow();
            }
            loaded += batch.length;
          }
          appender.flushSync();
        } finally {
          try {
            appender.closeSync();
          } catch {
            /* already failed: the first error is the one reported */
          }
        }
        return loaded;
      }),
    );
  }

  async introspect(): Promise<Catalog> {
    return this.guard('introspection failed', () => introspectDuckDb(this));
  }

  protected async closeDriver(): Promise<void> {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

export async function openDuckDbConnector(site: ResolvedSite): Promise<SiteConnector> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  let instance: DuckDBInstance;
  let conn: DuckDBConnection;
  try {
    instance = await DuckDBInstance.create(site.file ?? ':memory:');
    conn = await instance.connect();
    await conn.run("SET TimeZone = 'UTC'");
  } catch (e) {
    throw siteFailure(site, e, `cannot open ${site.shownUrl}`);
  }
  return new DuckDbConnector(site, instance, conn);
}
