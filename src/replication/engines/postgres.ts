/**
 * PostgreSQL and PGlite: the change log in PL/pgSQL (one trigger function per table), and
 * upserts with ON CONFLICT. Values go into the JSON as text where a JSON number would round
 * (numeric, bigint, floats with extra_float_digits set so the text is exact), dates and
 * timestamps as ISO text whatever the session's DateStyle, timestamptz in UTC.
 */
import type { Column, ColumnType } from '../../catalog/types.js';
import { sqlString } from '../../engines/dialect.js';
import { postgresDialect } from '../../engines/postgres/dialect.js';
import { canonicalValue, valueTypeOf } from '../../engines/values.js';
import { type CapturedTable, OUTBOX, OUTBOX_SEQ, ReplicationDialect, type SetupStatement } from './base.js';

export class PostgresReplication extends ReplicationDialect {
  constructor() {
    super(postgresDialect);
  }

  outboxDdl(): SetupStatement[] {
    return [
      {
        sql: `CREATE TABLE IF NOT EXISTS ${this.q(OUTBOX)} (\n  seq bigint PRIMARY KEY,\n  fragment text NOT NULL,\n  op char(1) NOT NULL,\n  key_json text NOT NULL,\n  row_json text,\n  captured_at timestamptz NOT NULL DEFAULT clock_timestamp()\n)`,
      },
      { sql: `CREATE TABLE IF NOT EXISTS ${this.q(OUTBOX_SEQ)} (id integer PRIMARY KEY, seq bigint NOT NULL)` },
      { sql: `INSERT INTO ${this.q(OUTBOX_SEQ)} (id, seq) VALUES (1, 0) ON CONFLICT (id) DO NOTHING` },
    ];
  }

  private functionName(t: CapturedTable): string {
    return `ddbkit_capture_${t.table}`;
  }

  captureDdl(t: CapturedTable): SetupStatement[] {
    const keyColumns = t.primaryKey.map((k) => t.columns.find((c) => c.name === k)!);
    const insert = (op: string, key: string, row: string) =>
      `INSERT INTO ${this.q(OUTBOX)} (seq, fragment, op, key_json, row_json) VALUES (s, ${sqlString(t.fragment)}, '${op}', ${key}, ${row});`;
    const fn = this.q(this.functionName(t));
    return [
      {
        sql: [
          `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql SET extra_float_digits = 3 AS $ddbkit$`,
          'DECLARE s bigint;',
          'BEGIN',
          `  UPDATE ${this.q(OUTBOX_SEQ)} SET seq = seq + 1 WHERE id = 1 RETURNING seq INTO s;`,
          `  IF TG_OP = 'INSERT' THEN`,
          `    ${insert('I', this.jsonObject('NEW', keyColumns), this.jsonObject('NEW', t.columns))}`,
          `  ELSIF TG_OP = 'UPDATE' THEN`,
          `    ${insert('U', this.jsonObject('OLD', keyColumns), this.jsonObject('NEW', t.columns))}`,
          '  ELSE',
          `    ${insert('D', this.jsonObject('OLD', keyColumns), 'NULL')}`,
          '  END IF;',
          '  RETURN NULL;',
          'END $ddbkit$',
        ].join('\n'),
      },
      {
        sql: `CREATE OR REPLACE TRIGGER ddbkit_capture AFTER INSERT OR UPDATE OR DELETE ON ${this.q(t.table)} FOR EACH ROW EXECUTE FUNCTION ${fn}()`,
      },
    ];
  }

  override dropCapture(t: CapturedTable): string[] {
    return [`DROP FUNCTION IF EXISTS ${this.q(this.functionName(t))}() CASCADE`];
  }

  protected jsonBuild(pairs: Array<[string, string]>): string {
    return `jsonb_build_object(${pairs.map(([k, v]) => `${k}, ${v}`).join(', ')})`;
  }

  protected override jsonObject(ref: string, columns: readonly Column[]): string {
    return `(${super.jsonObject(ref, columns)})::text`;
  }

  protected jsonMerge(parts: string[]): string {
    return parts.join(' || ');
  }

  protected jsonValue(expr: string, type: ColumnType): string {
    switch (type.family) {
      case 'boolean':
      case 'date':
      case 'timestamp':
      case 'time':
        return expr; // JSON booleans; ISO strings (to_jsonb ignores DateStyle)
      case 'timestamptz':
        return `(${expr} AT TIME ZONE 'UTC')`;
      case 'binary':
        return `encode(${expr}, 'hex')`;
      default:
        return `${expr}::text`;
    }
  }

  nowSql(): string {
    return 'clock_timestamp()';
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
        return `decode('${(v as Buffer).toString('hex')}', 'hex')`;
      case 'float':
        return `'${String(v)}'`;
      default:
        return sqlString(String(v));
    }
  }
}
