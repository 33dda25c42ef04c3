/**
 * SQLite: one trigger per operation writing to an AUTOINCREMENT outbox (SQLite has one writer at
 * a time, so numbers follow commit order and a rolled-back change leaves no gap), upserts with
 * ON CONFLICT. Values are spelled as the SQLite connector stores them: booleans 0/1, timestamptz
 * as UTC text without 'Z', decimals and floats printed exactly.
 */
import type { ColumnType } from '../../catalog/types.js';
import { sqlString } from '../../engines/dialect.js';
import { sqliteDialect } from '../../engines/sqlite/dialect.js';
import { canonicalValue, valueTypeOf } from '../../engines/values.js';
import { type CapturedTable, OUTBOX, ROW_TRIGGERS, ReplicationDialect, type SetupStatement } from './base.js';

export class SqliteReplication extends ReplicationDialect {
  constructor() {
    super(sqliteDialect);
  }

  outboxDdl(): SetupStatement[] {
    return [
      {
        sql: `CREATE TABLE IF NOT EXISTS ${this.q(OUTBOX)} (\n  seq INTEGER PRIMARY KEY AUTOINCREMENT,\n  fragment TEXT NOT NULL,\n  op TEXT NOT NULL,\n  key_json TEXT NOT NULL,\n  row_json TEXT,\n  captured_at TEXT NOT NULL\n)`,
      },
    ];
  }

  captureDdl(t: CapturedTable): SetupStatement[] {
    const keyColumns = t.primaryKey.map((k) => t.columns.find((c) => c.name === k)!);
    const out: SetupStatement[] = [];
    for (const [event, op, suffix] of ROW_TRIGGERS) {
      const key = this.jsonObject(op === 'I' ? 'NEW' : 'OLD', keyColumns);
      const row = op === 'D' ? 'NULL' : this.jsonObject('NEW', t.columns);
      out.push({ sql: `DROP TRIGGER IF EXISTS ${this.q(this.triggerName(t, suffix))}` });
      out.push({
        sql: `CREATE TRIGGER ${this.q(this.triggerName(t, suffix))} AFTER ${event} ON ${this.q(t.table)} FOR EACH ROW BEGIN\n  INSERT INTO ${this.q(OUTBOX)} (fragment, op, key_json, row_json, captured_at) VALUES (${sqlString(t.fragment)}, '${op}', ${key}, ${row}, ${this.nowSql()});\nEND`,
      });
    }
    return out;
  }

  protected jsonBuild(pairs: Array<[string, string]>): string {
    return `json_object(${pairs.map(([k, v]) => `${k}, ${v}`).join(', ')})`;
  }

  protected jsonMerge(parts: string[]): string {
    return parts.reduce((a, b) => `json_patch(${a}, ${b})`);
  }

  protected jsonValue(expr: string, type: ColumnType): string {
    const unlessNull = (e: string) => `CASE WHEN ${expr} IS NULL THEN NULL ELSE ${e} END`;
    switch (type.family) {
      case 'boolean':
        return expr; // 0/1
      case 'integer':
        return `CAST(${expr} AS TEXT)`;
      case 'decimal':
        // Stored as REAL (or INTEGER when whole): printed with the declared scale, exact up to 15 digits.
        return unlessNull(`printf('%.${type.scale ?? 0}f', ${expr})`);
      case 'float':
        // '!' lifts SQLite's printf limit of 16 significant digits: 17 give back the same double.
        return unlessNull(`printf('%!.17g', ${expr})`);
      case 'binary':
        return unlessNull(`lower(hex(${expr}))`);
      default:
        return expr;
    }
  }

  nowSql(): string {
    return "strftime('%Y-%m-%dT%H:%M:%f', 'now')";
  }

  /** AUTOINCREMENT keeps the last number given in sqlite_sequence (pruning the outbox does not lower it). */
  override currentSeqSql(): string {
    return `SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = '${OUTBOX}'), 0) AS seq`;
  }

  literal(value: unknown, type: ColumnType): string {
    if (value === null || value === undefined) return 'NULL';
    const v = canonicalValue(value, valueTypeOf(type));
    switch (type.family) {
      case 'integer':
        return String(v);
      case 'float': {
        const n = v as number;
        if (Number.isNaN(n)) return 'NULL';
        if (!Number.isFinite(n)) return n > 0 ? '9e999' : '-9e999';
        return String(n);
      }
      case 'boolean':
        return v ? '1' : '0';
      case 'timestamptz':
        return sqlString(String(v).replace(/Z$/, ''));
      case 'binary':
        return `X'${(v as Buffer).toString('hex')}'`;
      default:
        // Decimals as text, as the connector binds them: NUMERIC affinity stores the number.
        return sqlString(String(v));
    }
  }
}
