/**
 * DuckDB: PostgreSQL-like types and literals (DATE '…', TIMESTAMPTZ '…' parse as in PostgreSQL);
 * DECIMAL holds at most 38 digits and has no unconstrained form (a bare DECIMAL is (18,3)).
 */
import type { Column } from '../../catalog/types.js';
import { Dialect, refuse, type ColumnUsage } from '../dialect.js';

export const DUCKDB_MAX_DECIMAL_PRECISION = 38;

export class DuckDbDialect extends Dialect {
  readonly name: string = 'duckdb';

  override integerList(expr: string): string {
    return `string_agg(CAST(${expr} AS VARCHAR), ',')`;
  }

  /** DuckDB refuses other columns beside a grouped key (it would need any_value()). */
  override get groupsByKeyAlone(): boolean {
    return false;
  }

  /** DuckDB keeps its statistics up to date as rows are appended. */
  override analyzeTable(): undefined {
    return undefined;
  }

  columnType(column: Column, _usage?: ColumnUsage, table?: string): string {
    const t = column.type;
    switch (t.family) {
      case 'integer':
        return t.bits === 16 ? 'SMALLINT' : t.bits === 32 ? 'INTEGER' : 'BIGINT';
      case 'decimal':
        if (t.precision === undefined)
          return refuse(
            this,
            column,
            'DuckDB has no unconstrained DECIMAL (a bare DECIMAL is DECIMAL(18,3)); declare numeric(p,s) in the source',
            table,
          );
        if (t.precision > DUCKDB_MAX_DECIMAL_PRECISION)
          return refuse(this, column, `DuckDB DECIMAL holds at most ${DUCKDB_MAX_DECIMAL_PRECISION} digits`, table);
        if ((t.scale ?? 0) < 0) return refuse(this, column, 'DuckDB DECIMAL has no negative scale', table);
        return `DECIMAL(${t.precision},${t.scale ?? 0})`;
      case 'float':
        return 'DOUBLE';
      case 'text':
        // DuckDB ignores VARCHAR(n) lengths: VARCHAR holds every source value.
        return 'VARCHAR';
      case 'boolean':
        return 'BOOLEAN';
      case 'date':
        return 'DATE';
      case 'timestamp':
        return 'TIMESTAMP';
      case 'timestamptz':
        return 'TIMESTAMPTZ';
      case 'time':
        return 'TIME';
      case 'json':
        return 'JSON';
      case 'binary':
        return 'BLOB';
      case 'uuid':
        return 'UUID';
      case 'other':
        return refuse(this, column, 'no DuckDB type is known to hold it', table);
    }
  }
}

export const duckDbDialect = new DuckDbDialect();
