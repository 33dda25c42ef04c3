/**
 * DuckDB: a replica only. It has no triggers, so it cannot capture its own changes: a design that
 * makes a DuckDB site the primary of an async fragment is refused when it is loaded.
 */
import type { ColumnType } from '../../catalog/types.js';
import { sqlString } from '../../engines/dialect.js';
import { duckDbDialect } from '../../engines/duckdb/dialect.js';
import { canonicalValue, valueTypeOf } from '../../engines/values.js';
import { ReplicationDialect, type SetupStatement } from './base.js';

export class DuckDbReplication extends ReplicationDialect {
  constructor() {
    super(duckDbDialect);
  }

  override get canCapture(): boolean {
    return false;
  }

  private refuse(): never {
    throw new Error('DuckDB has no triggers: it cannot be the primary of an async fragment');
  }

  outboxDdl(): SetupStatement[] {
    return this.refuse();
  }
  captureDdl(): SetupStatement[] {
    return this.refuse();
  }
  override dropCapture(): string[] {
    return [];
  }
  protected jsonBuild(): string {
    return this.refuse();
  }
  protected jsonMerge(): string {
    return this.refuse();
  }
  protected jsonValue(): string {
    return this.refuse();
  }
  nowSql(): string {
    return 'now()';
  }

  literal(value: unknown, type: ColumnType): string {
    if (value === null || value === undefined) return 'NULL';
    const v = canonicalValue(value, valueTypeOf(type));
    switch (type.family) {
      case 'integer':
        return String(v);
      case 'boolean':
        return v ? 'TRUE' : 'FALSE';
      case 'binary':
        return `from_hex('${(v as Buffer).toString('hex')}')`;
      default:
        // String literals take the column's type on insert (decimals exactly, 'NaN', 'Infinity').
        return sqlString(String(v));
    }
  }
}
