/**
 * What asynchronous replication needs from each engine, beside its {@link Dialect}: at a primary,
 * the change log (an outbox table filled by triggers, one counter row that numbers the changes in
 * commit order); at a replica, the table recording what was applied and the SQL that applies
 * changes (upsert and delete by primary key), with every value spelled as a literal of that
 * engine. One base class, one small subclass per engine (the pattern of src/engines/dialect.ts).
 */
import type { Column, ColumnType } from '../../catalog/types.js';
import type { Dialect } from '../../engines/dialect.js';
import { sqlString } from '../../engines/dialect.js';
import { canonicalValue, valueTypeOf } from '../../engines/values.js';

export const OUTBOX = 'ddbkit_outbox';

/** Row triggers of engines capturing by triggers per event: event, outbox op, name suffix. */
export const ROW_TRIGGERS = [
  ['INSERT', 'I', 'ai'],
  ['UPDATE', 'U', 'au'],
  ['DELETE', 'D', 'ad'],
] as const;
/** One row (id 1) whose `seq` numbers the changes: its row lock orders them as their transactions commit. */
export const OUTBOX_SEQ = 'ddbkit_outbox_seq';
/** At a replica: per fragment, the last outbox seq applied (updated in the transaction that applies). */
export const APPLIED = 'ddbkit_applied';

/** A fragment table whose changes are captured. */
export interface CapturedTable {
  /** The fragment's name, written into each change. */
  fragment: string;
  table: string;
  columns: readonly Column[];
  primaryKey: readonly string[];
}

/** One statement of the replication setup; `drop` undoes it when deploy fails. */
export interface SetupStatement {
  sql: string;
  /** A statement a client must send with a custom delimiter (a MariaDB trigger body). */
  compound?: boolean;
}

/** A change as read from an outbox: values are still the primary's JSON spelling. */
export interface OutboxRow {
  seq: number;
  fragment: string;
  op: 'I' | 'U' | 'D';
  key: Record<string, unknown>;
  row: Record<string, unknown> | null;
}

/** The largest number of JSON members one call builds (the engines cap function arguments at 100 and 127). */
export const JSON_CHUNK = 40;

export abstract class ReplicationDialect {
  constructor(readonly dialect: Dialect) {}

  /** Whether this engine can be a primary (it has triggers). */
  get canCapture(): boolean {
    return true;
  }

  protected q(name: string): string {
    return this.dialect.quoteIdentifier(name);
  }

  // ─── At the primary ──────────────────────────────────────────────────────────────────────

  /** CREATE TABLE IF NOT EXISTS for the outbox (and its counter row). */
  abstract outboxDdl(): SetupStatement[];

  /** The triggers (and functions) capturing a table's changes; replacing any earlier version. */
  abstract captureDdl(t: CapturedTable): SetupStatement[];

  /** Removes a table's capture (for undo): by default the three row triggers of ROW_TRIGGERS. */
  dropCapture(t: CapturedTable): string[] {
    return ROW_TRIGGERS.map(([, , suffix]) => `DROP TRIGGER IF EXISTS ${this.q(this.triggerName(t, suffix))}`);
  }

  /** The name of a table's row trigger for one kind of change. */
  protected triggerName(t: CapturedTable, suffix: string): string {
    return `ddbkit_${t.table}_${suffix}`;
  }

  /** A JSON object of the columns of a row (`ref` is NEW or OLD), each value in a spelling decodeValue reads. */
  protected jsonObject(ref: string, columns: readonly Column[]): string {
    const parts: string[] = [];
    for (let i = 0; i < columns.length; i += JSON_CHUNK) {
      const chunk = columns.slice(i, i + JSON_CHUNK);
      parts.push(this.jsonBuild(chunk.map((c) => [sqlString(c.name), this.jsonValue(`${ref}.${this.q(c.name)}`, c.type)])));
    }
    return parts.length === 1 ? parts[0]! : this.jsonMerge(parts);
  }

  /** The engine's JSON object constructor over (key literal, value expression) pairs. */
  protected abstract jsonBuild(pairs: Array<[string, string]>): string;
  /** Merges JSON objects (tables wider than one chunk). */
  protected abstract jsonMerge(parts: string[]): string;
  /** A column value as JSON: text for everything that JSON numbers would round (see decodeValue). */
  protected abstract jsonValue(expr: string, type: ColumnType): string;

  /** The current time at the site, as an expression giving UTC. */
  abstract nowSql(): string;

  /** A query giving the number of the last change captured (`seq`), 0 before any. */
  currentSeqSql(): string {
    return `SELECT seq FROM ${this.q(OUTBOX_SEQ)} WHERE id = 1`;
  }

  // ─── At a replica ────────────────────────────────────────────────────────────────────────

  appliedDdl(): string {
    return `CREATE TABLE IF NOT EXISTS ${this.q(APPLIED)} (\n  fragment VARCHAR(200) NOT NULL PRIMARY KEY,\n  primary_site VARCHAR(200) NOT NULL,\n  seq BIGINT NOT NULL,\n  applied_at VARCHAR(40)\n)${this.tableSuffix()}`;
  }

  protected tableSuffix(): string {
    return '';
  }

  /** What a SELECT without a table needs before WHERE (MySQL's FROM DUAL). */
  protected fromNothing(): string {
    return '';
  }

  /** Records that `fragment` starts at `seq` at this replica, unless it is recorded already. */
  appliedInitSql(fragment: string, primary: string, seq: number): string {
    const f = sqlString(fragment);
    return `INSERT INTO ${this.q(APPLIED)} (fragment, primary_site, seq, applied_at) SELECT ${f}, ${sqlString(primary)}, ${seq}, NULL${this.fromNothing()} WHERE NOT EXISTS (SELECT 1 FROM ${this.q(APPLIED)} WHERE fragment = ${f})`;
  }

  /** Sets the applied seq of fragments (in the transaction that applied their changes). */
  appliedUpdateSql(fragments: readonly string[], seq: number, at: string): string {
    return `UPDATE ${this.q(APPLIED)} SET seq = ${seq}, applied_at = ${sqlString(at)} WHERE fragment IN (${fragments.map(sqlString).join(', ')}) AND seq < ${seq}`;
  }

  /** A canonical value (engines/values.ts) as a literal of this engine for a column of `type`. */
  abstract literal(value: unknown, type: ColumnType): string;

  /**
   * INSERT of `rows` (canonical values in `columns` order) that replaces rows with the same key:
   * `ON CONFLICT … DO UPDATE`, as PostgreSQL, SQLite and DuckDB spell it.
   */
  upsertSql(table: string, columns: readonly Column[], primaryKey: readonly string[], rows: unknown[][]): string {
    const others = columns.filter((c) => !primaryKey.includes(c.name));
    const action = others.length
      ? `DO UPDATE SET ${others.map((c) => `${this.q(c.name)} = excluded.${this.q(c.name)}`).join(', ')}`
      : 'DO NOTHING';
    return `INSERT INTO ${this.q(table)} (${columns.map((c) => this.q(c.name)).join(', ')}) VALUES\n${this.values(columns, rows)}\nON CONFLICT (${primaryKey.map((k) => this.q(k)).join(', ')}) ${action}`;
  }

  /** DELETE of the rows whose keys (canonical values in `primaryKey` order) are given. */
  deleteSql(table: string, columns: readonly Column[], primaryKey: readonly string[], keys: unknown[][]): string {
    const types = primaryKey.map((k) => columns.find((c) => c.name === k)!.type);
    const where =
      primaryKey.length === 1
        ? `${this.q(primaryKey[0]!)} IN (${keys.map((k) => this.literal(k[0], types[0]!)).join(', ')})`
        : keys
            .map((k) => `(${primaryKey.map((c, i) => `${this.q(c)} = ${this.literal(k[i], types[i]!)}`).join(' AND ')})`)
            .join(' OR ');
    return `DELETE FROM ${this.q(table)} WHERE ${where}`;
  }

  protected values(columns: readonly Column[], rows: unknown[][]): string {
    return rows.map((r) => `(${columns.map((c, i) => this.literal(r[i], c.type)).join(', ')})`).join(',\n');
  }
}

/**
 * A value of the primary's JSON (see jsonValue) in canonical form: binary arrives as hex, floats
 * as text (SQLite's printf spells infinities Inf), everything else as canonicalValue reads it.
 */
export function decodeValue(v: unknown, type: ColumnType): unknown {
  if (v === null || v === undefined) return null;
  if (type.family === 'binary') return Buffer.from(String(v), 'hex');
  if (type.family === 'float' && typeof v === 'string') {
    const t = v.trim().toLowerCase();
    if (t === 'inf' || t === '+inf' || t === 'infinity') return Infinity;
    if (t === '-inf' || t === '-infinity') return -Infinity;
    if (t === 'nan') return NaN;
    return Number(v);
  }
  return canonicalValue(v, valueTypeOf(type));
}
