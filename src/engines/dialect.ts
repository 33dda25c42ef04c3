/**
 * SQL dialects: how a site's engine spells identifiers, types, DDL and predicate literals.
 * One base class renders everything; each engine overrides a few small hooks (Kysely's
 * DefaultQueryCompiler pattern), so there is no `switch (engine)` anywhere.
 */
import type { CheckConstraint, Column, ColumnType } from '../catalog/types.js';
import type { Key, Variable } from '../predicate/index.js';
import { domainOf, renderSql, type Predicate, type SqlStyle } from '../predicate/index.js';

/** A source column type that an engine cannot hold without losing values. */
export class TypeMappingError extends Error {
  readonly code = 'TYPE_MAPPING';
  constructor(
    readonly dialect: string,
    readonly column: string,
    readonly sqlType: string,
    reason: string,
    readonly table?: string,
  ) {
    super(
      `column ${table ? `${table}.` : ''}${column} of type ${sqlType} cannot be carried to ${dialect} without loss: ${reason}`,
    );
    this.name = 'TypeMappingError';
  }
}

/** Where a column is used, because some engines need bounded types in keys and indexes. */
export interface ColumnUsage {
  /** Part of the primary key or of an index. */
  key?: boolean;
  /**
   * A CHECK bounds its values to strings of at most this many characters (e.g. `status IN ('a', 'bc')`
   * gives 2), so an engine may store it in a bounded type (MariaDB: VARCHAR instead of LONGTEXT).
   */
  maxLength?: number;
}

export interface IndexSpec {
  name?: string;
  columns: string[];
  unique?: boolean;
}

export interface CreateTableOptions {
  /** CHECK constraints already written in this dialect (see {@link Dialect.renderPredicate}). */
  checks?: readonly CheckConstraint[];
  indexes?: readonly IndexSpec[];
  ifNotExists?: boolean;
  /** The relation name used in TypeMappingError messages (defaults to the table name). */
  relation?: string;
  /**
   * Column name (lower case) → the longest value, in characters, its CHECKs allow (see
   * {@link ColumnUsage.maxLength}); only bounds enforced on this table belong here.
   */
  lengths?: ReadonlyMap<string, number>;
}

export abstract class Dialect {
  /** The engine family this dialect writes, for messages: `postgres`, `mariadb`, `sqlite`, `duckdb`. */
  abstract readonly name: string;

  /** Double quotes by default (standard SQL, PostgreSQL, SQLite, DuckDB); case is kept as given. */
  quoteIdentifier(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
  }

  /** The placeholder of the i-th (0-based) parameter in `query(sql, params)`. */
  placeholder(index: number): string {
    return `$${index + 1}`;
  }

  /**
   * The engine's type for a source column; throws TypeMappingError when it would lose values.
   * The full table is in docs/type-mapping.md.
   */
  abstract columnType(column: Column, usage?: ColumnUsage, table?: string): string;

  /** Text appended to a CREATE TABLE (MariaDB's charset and collation). */
  protected tableSuffix(): string {
    return '';
  }

  /** Column clause extras after the type and NOT NULL (MariaDB's comments marking timestamptz). */
  protected columnSuffix(_column: Column): string {
    return '';
  }

  createTable(
    name: string,
    columns: readonly Column[],
    primaryKey: readonly string[],
    options: CreateTableOptions = {},
  ): string[] {
    const q = (n: string): string => this.quoteIdentifier(n);
    const keyColumns = new Set([...primaryKey, ...(options.indexes ?? []).flatMap((i) => i.columns)].map((c) => c.toLowerCase()));
    const relation = options.relation ?? name;
    const lines = columns.map((c) => {
      const lower = c.name.toLowerCase();
      const type = this.columnType(c, { key: keyColumns.has(lower), maxLength: options.lengths?.get(lower) }, relation);
      return `  ${q(c.name)} ${type}${c.nullable && !primaryKey.includes(c.name) ? '' : ' NOT NULL'}${this.columnSuffix(c)}`;
    });
    if (primaryKey.length > 0) lines.push(`  PRIMARY KEY (${primaryKey.map(q).join(', ')})`);
    for (const check of options.checks ?? []) lines.push(`  CONSTRAINT ${q(check.name)} CHECK (${check.expression})`);
    const ine = options.ifNotExists ? 'IF NOT EXISTS ' : '';
    const statements = [`CREATE TABLE ${ine}${q(name)} (\n${lines.join(',\n')}\n)${this.tableSuffix()}`];
    for (const index of options.indexes ?? []) statements.push(this.createIndex(name, index, options.ifNotExists));
    return statements;
  }

  createIndex(table: string, index: IndexSpec, ifNotExists = false): string {
    const name = index.name ?? `${table}_${index.columns.join('_')}_idx`;
    const ine = ifNotExists ? 'IF NOT EXISTS ' : '';
    return `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX ${ine}${this.quoteIdentifier(name)} ON ${this.quoteIdentifier(table)} (${index.columns
      .map((c) => this.quoteIdentifier(c))
      .join(', ')})`;
  }

  /**
   * Refreshes the planner statistics of a table just filled, as a DBA does after a bulk load:
   * without them MariaDB estimates one row per index lookup and plans nested loops over a
   * million rows. Undefined when the engine keeps its statistics itself.
   */
  analyzeTable(name: string): string | undefined {
    return `ANALYZE ${this.quoteIdentifier(name)}`;
  }

  /**
   * The comma-separated values of an integer expression over a group (repeats left in): how a
   * slice ships what a count(DISTINCT …) spanning several slices needs (src/query/pushdown.ts).
   */
  integerList(expr: string): string {
    return `string_agg(CAST(${expr} AS text), ',')`;
  }

  /**
   * Whether a GROUP BY over a table's whole primary key may select that table's other columns
   * (they depend on the key). PostgreSQL knows the dependency; MariaDB and SQLite do not check.
   */
  get groupsByKeyAlone(): boolean {
    return true;
  }

  dropTable(name: string, ifExists = true): string {
    return `DROP TABLE ${ifExists ? 'IF EXISTS ' : ''}${this.quoteIdentifier(name)}`;
  }

  /** A literal of a predicate value (a domain key) for a column of `type`; PostgreSQL spelling by default. */
  literal(type: ColumnType, key: Key): string {
    return domainOf(type).toSql(key);
  }

  /** The style that renders predicate trees (fragment conditions, CHECKs) in this dialect. */
  get sqlStyle(): SqlStyle {
    return {
      column: (v: Variable) => this.quoteIdentifier(v.name),
      literal: (v: Variable, key: Key) => this.literal(v.type, key),
    };
  }

  renderPredicate(p: Predicate): string {
    return renderSql(p, this.sqlStyle);
  }

  /** A query returning a row when a view of that name exists in the default schema. */
  viewExistsSql(name: string): string {
    return `SELECT 1 FROM information_schema.views WHERE table_name = ${sqlString(name)}`;
  }

  /** Starting a transaction, for connectors that drive it with SQL. */
  beginTransaction(): string {
    return 'BEGIN';
  }
}

/** Shared helper: the string-literal spelling with doubled quotes. */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** Shorthand for the mapping tables: refuse a column with a reason. */
export function refuse(dialect: Dialect, column: Column, reason: string, table?: string): never {
  throw new TypeMappingError(dialect.name, column.name, column.type.sqlType, reason, table);
}
