/**
 * MariaDB (and MySQL, untested: no MySQL server can be installed here). Backtick identifiers,
 * `?` placeholders, utf8mb4 with a binary collation so that keys compare by code point as in the
 * source (the default collation would make 'a' and 'A' the same key), and bounded types in keys
 * (InnoDB indexes at most 3072 bytes).
 */
import type { Column, ColumnType } from '../../catalog/types.js';
import { domainOf, type Key } from '../../predicate/index.js';
import { Dialect, refuse, type ColumnUsage } from '../dialect.js';

/** Unbounded text or binary in a key becomes VARCHAR/VARBINARY of this length; longer values are refused at load. */
export const MARIADB_KEY_LENGTH = 255;
/** Beyond this a VARCHAR(n) (utf8mb4) no longer fits in a row: LONGTEXT carries it. */
const MAX_VARCHAR = 16_383;

export class MariaDbDialect extends Dialect {
  readonly name: string = 'mariadb';

  override quoteIdentifier(name: string): string {
    return `\`${name.replace(/`/g, '``')}\``;
  }

  /** Bounded by the session's group_concat_max_len, which the connector raises to 16 MB. */
  override integerList(expr: string): string {
    return `GROUP_CONCAT(${expr} SEPARATOR ',')`;
  }

  override analyzeTable(name: string): string {
    return `ANALYZE TABLE ${this.quoteIdentifier(name)}`;
  }

  override placeholder(): string {
    return '?';
  }

  columnType(column: Column, usage: ColumnUsage = {}, table?: string): string {
    const t = column.type;
    switch (t.family) {
      case 'integer':
        return t.bits === 16 ? 'SMALLINT' : t.bits === 32 ? 'INT' : 'BIGINT';
      case 'decimal':
        if (t.precision === undefined)
          return refuse(
            this,
            column,
            'numeric without precision has no MariaDB equivalent (DECIMAL holds at most 65 digits with a fixed scale); declare numeric(p,s) in the source',
            table,
          );
        if (t.precision > 65) return refuse(this, column, 'MariaDB DECIMAL holds at most 65 digits', table);
        if ((t.scale ?? 0) > 30 || (t.scale ?? 0) < 0)
          return refuse(this, column, 'MariaDB DECIMAL scale must be within 0..30', table);
        return `DECIMAL(${t.precision},${t.scale ?? 0})`;
      case 'float':
        return 'DOUBLE';
      case 'text':
        if (t.length !== undefined && t.length <= MAX_VARCHAR) return `VARCHAR(${t.length})`;
        // A CHECK lists every value it may hold (an enum-like column): VARCHAR sized to the longest,
        // which MariaDB keeps in in-memory temporary tables (GROUP BY over LONGTEXT goes to disk).
        if (t.length === undefined && usage.maxLength !== undefined && usage.maxLength <= MAX_VARCHAR)
          return `VARCHAR(${Math.max(1, usage.maxLength)})`;
        if (usage.key) {
          if (t.length !== undefined)
            return refuse(this, column, `a key or indexed column longer than ${MAX_VARCHAR} characters cannot be indexed`, table);
          return `VARCHAR(${MARIADB_KEY_LENGTH})`;
        }
        return 'LONGTEXT';
      case 'boolean':
        return 'BOOLEAN';
      case 'date':
        return 'DATE';
      case 'timestamp':
        return 'DATETIME(6)';
      case 'timestamptz':
        // MariaDB's TIMESTAMP ends in 2038; a UTC DATETIME keeps the whole range (sessions run at +00:00).
        return 'DATETIME(6)';
      case 'time':
        return 'TIME(6)';
      case 'json':
        if (usage.key) return refuse(this, column, 'a JSON column cannot be part of a key in MariaDB', table);
        return 'JSON';
      case 'binary':
        return usage.key ? `VARBINARY(${MARIADB_KEY_LENGTH})` : 'LONGBLOB';
      case 'uuid':
        return 'UUID';
      case 'other':
        return refuse(this, column, 'no MariaDB type is known to hold it', table);
    }
  }

  /** Marks columns whose MariaDB type does not say what they hold, so introspection can tell. */
  protected override columnSuffix(column: Column): string {
    return column.type.family === 'timestamptz' ? " COMMENT 'ddbkit:timestamptz'" : '';
  }

  protected override tableSuffix(): string {
    return ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';
  }

  /** Backslashes are escapes in MariaDB strings (unless NO_BACKSLASH_ESCAPES): double them too. */
  override literal(type: ColumnType, key: Key): string {
    const text = domainOf(type).toSql(key);
    if (type.family === 'timestamptz') {
      // Stored as a UTC DATETIME: compare with the UTC wall-clock time.
      const iso = String(domainOf(type).toJson(key));
      return `TIMESTAMP '${iso.replace('T', ' ').replace(/Z$/, '')}'`;
    }
    return text.includes('\\') ? text.replace(/\\/g, '\\\\') : text;
  }

  override beginTransaction(): string {
    return 'START TRANSACTION';
  }
}

/** MySQL: as MariaDB but without a UUID type (untested: no MySQL server can be installed here). */
export class MySqlDialect extends MariaDbDialect {
  override readonly name: string = 'mysql';

  override columnType(column: Column, usage: ColumnUsage = {}, table?: string): string {
    return column.type.family === 'uuid' ? 'CHAR(36)' : super.columnType(column, usage, table);
  }
}

export const mariaDbDialect = new MariaDbDialect();
