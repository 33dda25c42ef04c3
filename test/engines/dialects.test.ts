/** Dialect DDL and type mapping, without a database: what each engine is asked to create. */
import { describe, expect, it } from 'vitest';
import type { Column } from '../../src/catalog/types.js';
import { TypeMappingError, type Dialect } from '../../src/engines/dialect.js';
import { DuckDbDialect } from '../../src/engines/duckdb/dialect.js';
import { MariaDbDialect, MySqlDialect } from '../../src/engines/mariadb/dialect.js';
import { PostgresDialect } from '../../src/engines/postgres/dialect.js';
import { SqliteDialect } from '../../src/engines/sqlite/dialect.js';
import { parsePredicate } from '../../src/predicate/index.js';
import { ALL_TYPES } from './fixture.js';

const DIALECTS: Dialect[] = [
  new PostgresDialect(),
  new MariaDbDialect(),
  new MySqlDialect(),
  new SqliteDialect(),
  new DuckDbDialect(),
];
const col = (name: string, family: Column['type']['family'], sqlType: string, extra: Partial<Column['type']> = {}): Column => ({
  name,
  type: { family, sqlType, ...extra },
  nullable: true,
});

describe('type mapping', () => {
  it('maps every fixture column on every dialect', () => {
    for (const d of DIALECTS) {
      for (const c of ALL_TYPES.columns) expect(typeof d.columnType(c)).toBe('string');
    }
  });

  it('refuses what would lose values, naming the column and the table', () => {
    const unconstrained = col('amount', 'decimal', 'numeric');
    for (const d of [new MariaDbDialect(), new SqliteDialect(), new DuckDbDialect()]) {
      expect(() => d.createTable('payment', [unconstrained], [])).toThrow(TypeMappingError);
      expect(() => d.createTable('payment', [unconstrained], [])).toThrow(/payment\.amount of type numeric/);
    }
    expect(new PostgresDialect().columnType(unconstrained)).toBe('numeric');
    expect(() => new SqliteDialect().columnType(col('x', 'decimal', 'numeric(20,2)', { precision: 20, scale: 2 }))).toThrow(
      /15 digits/,
    );
    expect(() => new DuckDbDialect().columnType(col('x', 'decimal', 'numeric(40,2)', { precision: 40, scale: 2 }))).toThrow(
      TypeMappingError,
    );
    expect(() => new MariaDbDialect().columnType(col('x', 'other', 'tsvector'))).toThrow(TypeMappingError);
    expect(new PostgresDialect().columnType(col('x', 'other', 'tsvector'))).toBe('tsvector');
  });

  it('bounds unbounded text in MariaDB keys and uses a binary collation', () => {
    const d = new MariaDbDialect();
    const [ddl] = d.createTable('t', [{ ...col('k', 'text', 'text'), nullable: false }, col('v', 'text', 'text')], ['k']);
    expect(ddl).toContain('`k` VARCHAR(255) NOT NULL');
    expect(ddl).toContain('`v` LONGTEXT');
    expect(ddl).toContain('COLLATE=utf8mb4_bin');
  });
});

describe('DDL', () => {
  it('writes keys, NOT NULL, checks and indexes with the dialect quoting', () => {
    const columns = [
      { ...col('id', 'integer', 'integer', { bits: 32 }), nullable: false },
      col('Region', 'text', 'varchar(8)', { length: 8 }),
    ];
    const opts = { checks: [{ name: 'region_ok', expression: '"Region" <> \'\'' }], indexes: [{ columns: ['Region'] }] };
    expect(new PostgresDialect().createTable('Shop', columns, ['id'], opts)).toEqual([
      'CREATE TABLE "Shop" (\n  "id" integer NOT NULL,\n  "Region" varchar(8),\n  PRIMARY KEY ("id"),\n  CONSTRAINT "region_ok" CHECK ("Region" <> \'\')\n)',
      'CREATE INDEX "Shop_Region_idx" ON "Shop" ("Region")',
    ]);
    expect(new MariaDbDialect().dropTable('Shop')).toBe('DROP TABLE IF EXISTS `Shop`');
  });
});

describe('predicate rendering per dialect', () => {
  const vars = ALL_TYPES.columns.map((c) => ({ id: c.name, name: c.name, type: c.type, nullable: c.nullable }));
  const scope = { description: 'all_types', resolve: (n: string) => vars.find((v) => v.name === n.toLowerCase()) };
  const p = parsePredicate(
    "born = DATE '2024-01-02' AND active = TRUE AND name = 'it''s \\ ok' AND paid < '2024-01-01 03:00+03'",
    scope,
  );

  it('spells literals the way each engine reads them', () => {
    expect(new PostgresDialect().renderPredicate(p)).toBe(
      `("born" = DATE '2024-01-02') AND ("active" = TRUE) AND ("name" = 'it''s \\ ok') AND ("paid" < TIMESTAMPTZ '2024-01-01 00:00:00Z')`,
    );
    expect(new SqliteDialect().renderPredicate(p)).toBe(
      `("born" = '2024-01-02') AND ("active" = 1) AND ("name" = 'it''s \\ ok') AND ("paid" < '2024-01-01T00:00:00')`,
    );
    expect(new MariaDbDialect().renderPredicate(p)).toBe(
      "(`born` = DATE '2024-01-02') AND (`active` = TRUE) AND (`name` = 'it''s \\\\ ok') AND (`paid` < TIMESTAMP '2024-01-01 00:00:00')",
    );
  });
});
