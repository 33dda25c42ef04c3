/**
 * What the `pg` and PGlite connectors share: both speak PostgreSQL, so queries, cursors,
 * introspection and value reading are written once here. Subclasses supply the driver calls.
 */
import type { Catalog, ColumnType } from '../../catalog/types.js';
import { BaseConnector } from '../base-connector.js';
import { PostgresDialect } from './dialect.js';
import { introspectPostgres } from './introspect.js';
import { PG_OID_FAMILY, pgValue } from './values.js';
import { type ValueType, canonicalValue, valueTypeOf } from '../values.js';

export interface RawResult {
  fields: { name: string; dataTypeID: number }[];
  /** Rows as arrays of the server's text (or null), in `fields` order. */
  rows: unknown[][];
  /** Rows an INSERT/UPDATE/DELETE matched. */
  rowCount?: number;
}

/** Statements that make every PostgreSQL session read and write values the same way. */
export const PG_SESSION_SETUP = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'";

export abstract class PostgresFamilyConnector extends BaseConnector {
  readonly dialect: PostgresDialect = new PostgresDialect();
  private cursorCount = 0;

  /** One statement, parameters bound, rows as raw text arrays. */
  protected abstract run(sql: string, params?: unknown[]): Promise<RawResult>;
  /** Several statements, simple protocol. */
  protected abstract runScript(sql: string): Promise<void>;

  async version(): Promise<string> {
    const rows = await this.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    return `PostgreSQL ${String(rows[0]?.v ?? '').split(' ')[0]}`;
  }

  async execute(sql: string): Promise<void> {
    await this.guard('statement failed', () => this.runScript(sql), sql);
  }

  async modify(sql: string): Promise<number> {
    const result = await this.guard('statement failed', () => this.run(sql), sql);
    return result.rowCount ?? 0;
  }

  async query<Row extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]> {
    const result = await this.guard('query failed', () => this.run(sql, params), sql);
    return result.rows.map((raw) => {
      const row: Record<string, unknown> = {};
      result.fields.forEach((f, i) => {
        row[f.name] = pgValue(raw[i], f.dataTypeID);
      });
      return row as Row;
    });
  }

  /**
   * Whether `stream` asks for the next batch before handing out the current one, so that the
   * server produces batch N+1 while the consumer (typically a bulk load into another site) works
   * on batch N. Only worth it when the server is another process (the `pg` connector).
   */
  protected readAhead = false;

  /**
   * A server-side cursor, inside the caller's transaction or one of its own. The cursor is planned
   * for reading every row (cursor_tuple_fraction = 1): the default (0.1) favours fast-start plans,
   * e.g. a nested loop with one index probe per row for a derived fragment's EXISTS where a hash
   * join is several times cheaper over the whole result.
   */
  async *stream(sql: string, batchSize = 1000, types?: readonly ColumnType[]): AsyncIterable<unknown[][]> {
    const cursor = `ddbkit_cursor_${++this.cursorCount}`;
    const ownTx = !this.txOpen;
    const vt = types?.map(valueTypeOf);
    const size = Math.max(1, batchSize);
    if (ownTx) await this.begin();
    let ok = false;
    let pending: Promise<RawResult> | undefined;
    try {
      let restore = '';
      if (!ownTx) {
        // Keep the caller's transaction as it was: the setting only matters while DECLARE plans.
        const [row] = (await this.run("SELECT current_setting('cursor_tuple_fraction')")).rows;
        restore = `; SET LOCAL cursor_tuple_fraction = '${String(row?.[0] ?? '0.1').replace(/'/g, "''")}'`;
      }
      await this.guard(
        'query failed',
        () => this.runScript(`SET LOCAL cursor_tuple_fraction = 1; DECLARE ${cursor} NO SCROLL CURSOR FOR ${sql}${restore}`),
        sql,
      );
      const fetch = (): Promise<RawResult> => {
        const p = this.guard('fetch failed', () => this.run(`FETCH FORWARD ${size} FROM ${cursor}`), sql);
        // Handled when awaited; this only keeps a failed read-ahead from being "unhandled" meanwhile.
        p.catch(() => {});
        return p;
      };
      pending = fetch();
      for (;;) {
        const batch = await pending;
        pending = undefined;
        const rows = batch.rows;
        if (rows.length === 0) break;
        const last = rows.length < size;
        if (!last && this.readAhead) pending = fetch();
        readRows(batch, vt);
        yield rows;
        if (last) break;
        if (!pending) pending = fetch();
      }
      ok = true;
    } finally {
      // The consumer stopped early: let the read-ahead finish before the transaction or cursor ends.
      if (pending) await pending.catch(() => {});
      if (ownTx) {
        // Reading only: commit and rollback are the same; rollback also clears an aborted transaction.
        if (ok) await this.commit();
        else await this.rollback().catch(() => {});
      } else {
        await this.runScript(`CLOSE ${cursor}`).catch(() => {});
      }
    }
  }

  /** The whole result in one round trip, without a cursor (PostgreSQL plans cursors without parallel workers). */
  override async readAll(sql: string, types?: readonly ColumnType[]): Promise<unknown[][]> {
    const result = await this.guard('query failed', () => this.run(sql), sql);
    readRows(result, types?.map(valueTypeOf));
    return result.rows;
  }

  async introspect(): Promise<Catalog> {
    return this.guard('introspection failed', () => introspectPostgres(this));
  }
}

/**
 * Turns a result's server text into canonical values, in place: the driver's row arrays are
 * ours, and copying them doubles the garbage. A type hint only changes a value when it says more
 * than the column's own type (a numeric's scale).
 */
function readRows(result: RawResult, vt: readonly ValueType[] | undefined): void {
  const oids = result.fields.map((f) => f.dataTypeID);
  const families = oids.map((oid) => PG_OID_FAMILY[oid]);
  const hints = oids.map((_, i) => {
    const t = vt?.[i];
    if (!t) return undefined;
    return t.family === families[i] && (t.family !== 'decimal' || t.scale === undefined) ? undefined : t;
  });
  // Text arrives canonical (a string, or null): only the other columns are read.
  const read = oids.map((_, i) => i).filter((i) => families[i] !== 'text' || hints[i] !== undefined);
  for (const row of result.rows) {
    for (const i of read) {
      const value = pgValue(row[i], oids[i]!);
      const t = hints[i];
      row[i] = t ? canonicalValue(value, t) : value;
    }
  }
}
