/**
 * SQLite: dynamic typing, so the declared type is what tells ddbkit (and introspection) what a
 * column holds; values are stored in canonical text where SQLite has no type (dates, timestamps,
 * times as ISO text that sorts chronologically), booleans as 0/1, decimals as REAL — exact only
 * up to 15 significant digits, so larger precisions are refused.
 */
import type { Column, ColumnType } from '../../catalog/types.js';
import { domainOf, type Key } from '../../predicate/index.js';
import { Dialect, refuse, sqlString, type ColumnUsage } from '../dialect.js';

/** A double holds every decimal of at most 15 significant digits exactly enough to print it back. */
export const SQLITE_MAX_DECIMAL_PRECISION = 15;

export class SqliteDialect extends Dialect {
  readonly name: string = 'sqlite';

  override integerList(expr: string): string {
    return `group_concat(${expr}, ',')`;
  }

  override placeholder(): string {
    return '?';
  }

  override viewExistsSql(name: string): string {
    return `SELECT 1 FROM sqlite_master WHERE type = 'view' AND name = ${sqlString(name)}`;
  }

  columnType(column: Column, _usage?: ColumnUsage, table?: string): string {
    const t = column.type;
    switch (t.family) {
      case 'integer':
        // All INTEGER affinity (64-bit); the name keeps the source's width for introspection.
        return t.bits === 16 ? 'SMALLINT' : t.bits === 32 ? 'INTEGER' : 'BIGINT';
      case 'decimal':
        if (t.precision === undefined)
          return refuse(
            this,
            column,
            'SQLite has no exact decimal; numeric without precision could exceed the 15 digits a REAL holds',
            table,
          );
        if (t.precision > SQLITE_MAX_DECIMAL_PRECISION)
          return refuse(
            this,
            column,
            `SQLite stores decimals as REAL, exact to ${SQLITE_MAX_DECIMAL_PRECISION} digits only`,
            table,
          );
        return `NUMERIC(${t.precision},${t.scale ?? 0})`;
      case 'float':
        return 'REAL';
      case 'text':
        return t.length === undefined ? 'TEXT' : `VARCHAR(${t.length})`;
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
        // "JSON TEXT": TEXT affinity, so a JSON number such as 1.0 is not turned into a REAL.
        return 'JSON TEXT';
      case 'binary':
        return 'BLOB';
      case 'uuid':
        return 'UUID';
      case 'other':
        return refuse(this, column, 'no SQLite type is known to hold it', table);
    }
  }

  /** No DATE '…' keyword and no boolean type: temporal values are their canonical text, booleans 1/0. */
  override literal(type: ColumnType, key: Key): string {
    switch (type.family) {
      case 'boolean':
        return key === 1n ? '1' : '0';
      case 'date':
      case 'timestamp':
      case 'time':
        return sqlString(String(domainOf(type).toJson(key)));
      case 'timestamptz':
        // Stored as UTC text without 'Z' (see connector.ts) so that text order is time order.
        return sqlString(String(domainOf(type).toJson(key)).replace(/Z$/, ''));
      default:
        return domainOf(type).toSql(key);
    }
  }
}

export const sqliteDialect = new SqliteDialect();
