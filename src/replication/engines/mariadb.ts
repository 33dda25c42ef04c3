/**
 * MariaDB/MySQL: three triggers per table (one per operation, each a compound statement that a
 * script sends with a custom DELIMITER), the counter row locked with the change so that numbers
 * follow commit order, and upserts with ON DUPLICATE KEY UPDATE. Numbers, dates and times go into
 * the JSON as their exact text (CAST … AS CHAR); binary as hex.
 */
import type { Column, ColumnType } from '../../catalog/types.js';
import { sqlString } from '../../engines/dialect.js';
import { type MariaDbDialect, mariaDbDialect } from '../../engines/mariadb/dialect.js';
import { canonicalValue, valueTypeOf } from '../../engines/values.js';
import { type CapturedTable, OUTBOX, ROW_TRIGGERS, OUTBOX_SEQ, ReplicationDialect, type SetupStatement } from './base.js';

export class MariaDbReplication extends ReplicationDialect {
  constructor(dialect: MariaDbDialect = mariaDbDialect) {
    super(dialect);
  }

  protected override fromNothing(): string {
    return ' FROM DUAL';
  }

  protected override tableSuffix(): string {
    return ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';
  }

  outboxDdl(): SetupStatement[] {
    return [
      {
        sql: `CREATE TABLE IF NOT EXISTS ${this.q(OUTBOX)} (\n  seq BIGINT NOT NULL PRIMARY KEY,\n  fragment VARCHAR(200) NOT NULL,\n  op CHAR(1) NOT NULL,\n  key_json LONGTEXT NOT NULL,\n  row_json LONGTEXT,\n  captured_at DATETIME(6) NOT NULL\n)${this.tableSuffix()}`,
      },
      {
        sql: `CREATE TABLE IF NOT EXISTS ${this.q(OUTBOX_SEQ)} (id INT NOT NULL PRIMARY KEY, seq BIGINT NOT NULL) ENGINE=InnoDB`,
      },
      { sql: `INSERT IGNORE INTO ${this.q(OUTBOX_SEQ)} (id, seq) VALUES (1, 0)` },
    ];
  }

  /** MariaDB names are at most 64 characters. */
  protected override triggerName(t: CapturedTable, suffix: string): string {
    return super.triggerName(t, suffix).slice(0, 64);
  }

  captureDdl(t: CapturedTable): SetupStatement[] {
    const keyColumns = t.primaryKey.map((k) => t.columns.find((c) => c.name === k)!);
    const out: SetupStatement[] = [];
    for (const [event, op, suffix] of ROW_TRIGGERS) {
      const key = this.jsonObject(op === 'I' ? 'NEW' : 'OLD', keyColumns);
      const row = op === 'D' ? 'NULL' : this.jsonObject('NEW', t.columns);
      out.push({ sql: `DROP TRIGGER IF EXISTS ${this.q(this.triggerName(t, suffix))}` });
      out.push({
        compound: true,
        sql: [
          `CREATE TRIGGER ${this.q(this.triggerName(t, suffix))} AFTER ${event} ON ${this.q(t.table)} FOR EACH ROW BEGIN`,
          '  DECLARE s BIGINT;',
          `  UPDATE ${this.q(OUTBOX_SEQ)} SET seq = seq + 1 WHERE id = 1;`,
          `  SELECT seq INTO s FROM ${this.q(OUTBOX_SEQ)} WHERE id = 1;`,
          `  INSERT INTO ${this.q(OUTBOX)} (seq, fragment, op, key_json, row_json, captured_at) VALUES (s, ${sqlString(t.fragment)}, '${op}', ${key}, ${row}, UTC_TIMESTAMP(6));`,
          'END',
        ].join('\n'),
      });
    }
    return out;
  }

  protected jsonBuild(pairs: Array<[string, string]>): string {
    return `JSON_OBJECT(${pairs.map(([k, v]) => `${k}, ${v}`).join(', ')})`;
  }

  protected jsonMerge(parts: string[]): string {
    return `JSON_MERGE_PATCH(${parts.join(', ')})`;
  }

  protected jsonValue(expr: string, type: ColumnType): string {
    switch (type.family) {
      case 'boolean':
        return expr; // 0/1
      case 'text':
        return expr;
      case 'binary':
        return `LOWER(HEX(${expr}))`;
      default:
        // CONCAT makes a JSON column's value plain text too (JSON_OBJECT would embed it as JSON).
        return `CONCAT('', CAST(${expr} AS CHAR))`;
    }
  }

  nowSql(): string {
    return 'UTC_TIMESTAMP(6)';
  }

  private text(s: string): string {
    // Backslashes are escapes in MariaDB strings (unless NO_BACKSLASH_ESCAPES): double them.
    return sqlString(s.replace(/\\/g, '\\\\'));
  }

  literal(value: unknown, type: ColumnType): string {
    if (value === null || value === undefined) return 'NULL';
    const v = canonicalValue(value, valueTypeOf(type));
    switch (type.family) {
      case 'integer':
      case 'decimal':
        return String(v);
      case 'float':
        return Number.isFinite(v as number) ? String(v) : 'NULL';
      case 'boolean':
        return v ? '1' : '0';
      case 'timestamp':
      case 'timestamptz':
        return sqlString(String(v).replace('T', ' ').replace(/Z$/, ''));
      case 'binary':
        return `X'${(v as Buffer).toString('hex')}'`;
      default:
        return this.text(String(v));
    }
  }

  override upsertSql(table: string, columns: readonly Column[], primaryKey: readonly string[], rows: unknown[][]): string {
    const others = columns.filter((c) => !primaryKey.includes(c.name));
    const set = (others.length ? others : columns.filter((c) => primaryKey.includes(c.name)).slice(0, 1))
      .map((c) => `${this.q(c.name)} = VALUES(${this.q(c.name)})`)
      .join(', ');
    return `INSERT INTO ${this.q(table)} (${columns.map((c) => this.q(c.name)).join(', ')}) VALUES\n${this.values(columns, rows)}\nON DUPLICATE KEY UPDATE ${set}`;
  }
}
