/**
 * PostgreSQL (and PGlite): the source's own type system, so nearly every type maps to itself.
 * Predicate literals keep the core's PostgreSQL spelling (DATE '…', TIMESTAMPTZ '…').
 */
import type { Column } from '../../catalog/types.js';
import { Dialect, type ColumnUsage } from '../dialect.js';

export class PostgresDialect extends Dialect {
  readonly name: string = 'postgres';

  columnType(column: Column, _usage?: ColumnUsage, _table?: string): string {
    const t = column.type;
    switch (t.family) {
      case 'integer':
        return t.bits === 16 ? 'smallint' : t.bits === 32 ? 'integer' : 'bigint';
      case 'decimal':
        return t.precision === undefined ? 'numeric' : `numeric(${t.precision},${t.scale ?? 0})`;
      case 'float':
        return /^(real|float4)$/i.test(t.sqlType) ? 'real' : 'double precision';
      case 'text':
        if (t.length === undefined) return 'text';
        return /^(character|char|bpchar)\b(?! varying)/i.test(t.sqlType) ? `character(${t.length})` : `varchar(${t.length})`;
      case 'boolean':
        return 'boolean';
      case 'date':
        return 'date';
      case 'timestamp':
        return 'timestamp';
      case 'timestamptz':
        return 'timestamptz';
      case 'time':
        return 'time';
      case 'json':
        return /^jsonb$/i.test(t.sqlType) ? 'jsonb' : 'json';
      case 'binary':
        return 'bytea';
      case 'uuid':
        return 'uuid';
      case 'other':
        // PostgreSQL to PostgreSQL: the source's own spelling (an enum or domain must exist on the site).
        return t.sqlType;
    }
  }
}

export const postgresDialect = new PostgresDialect();
