/**
 * What the `pg` and PGlite connectors share: both speak PostgreSQL, so queries, cursors,
 * introspection and value reading are written once here. Subclasses supply the driver calls.
 */
import type { Catalog, ColumnType } from '../../catalog/types.js';
import { BaseConnector } from '../base-connector.js';
import { PostgresDialect } from './dialect.js';
import { introspectPostgres } from './introspect.js';
import { pgValue } from './values.js';
import { canonicalValue, valueTypeOf } from '../values.js';

export interface RawResult {
  fields: { name: string; dataTypeID: number }[];
  /** Rows as arrays of the server's text (or null), in `fields` order. */
  rows: unknown[][];
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

  /** A server-side cursor, inside the caller's transaction or one of its own. */
  async *stream(sql: string, batchSize = 1000, types?: readonly ColumnType[]): AsyncIterable<unknown[][]> {
    const cursor = `ddbkit_cursor_${++this.cursorCount}`;
    const ownTx = !this.txOpen;
    const vt = types?.map(valueTypeOf);
    if (ownTx) await this.begin();
    let ok = false;
    try {
      await this.guard('query failed', () => this.runScript(`DECLARE ${cursor} NO SCROLL CURSOR FOR ${sql}`), sql);
      for (;;) {
        const batch = await this.guard(
          'fetch failed',
          () => this.run(`FETCH FORWARD ${Math.max(1, batchSize)} FROM ${cursor}`),
          sql,
        );
        if (batch.rows.length === 0) break;
        const oids = batch.fields.map((f) => f.dataTypeID);
        yield batch.rows.map((raw) =>
          raw.map((v, i) => {
            const value = pgValue(v, oids[i] ?? 0);
            const t = vt?.[i];
            return t ? canonicalValue(value, t) : value;
          }),
        );
        if (batch.rows.length < batchSize) break;
      }
      ok = true;
    } finally {
      if (ownTx) {
        // Reading only: commit and rollback are the same; rollback also clears an aborted transaction.
        if (ok) await this.commit();
        else await this.rollback().catch(() => {});
      } else {
        await this.runScript(`CLOSE ${cursor}`).catch(() => {});
      }
    }
  }

  async introspect(): Promise<Catalog> {
    return this.guard('introspection failed', () => introspectPostgres(this));
  }
}
