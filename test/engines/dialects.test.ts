/** Dialect DDL and type mapping, without a database: what each engine is asked to create. */
import { describe, expect, it } from 'vitest';
import type { Catalog, Column } from '../../src/catalog/types.js';
import { layoutSites } from '../../src/deploy/layout.js';
import { generateScripts } from '../../src/deploy/scripts.js';
import { parseDesign } from '../../src/design/load.js';
import { resolveDesign } from '../../src/design/resolve.js';
import { TypeMappingError, type Dialect } from '../../src/engines/dialect.js';
import { DuckDbDialect } from '../../src/engines/duckdb/dialect.js';
import { MariaDbDialect, MySqlDialect } from '../../src/engines/mariadb/dialect.js';
import { PostgresDialect } from '../../src/engines/postgres/dialect.js';
import { SqliteDialect } from '../../src/engines/sqlite/dialect.js';
import { parsePredicate } from '../../src/predicate/index.js';
import { relation, T } from '../helpers.js';
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

describe('text bounded by a CHECK (enum-like columns)', () => {
  // MariaDB cannot keep LONGTEXT in an in-memory temporary table: GROUP BY/DISTINCT over it goes to disk.
  const columns = [{ ...col('id', 'integer', 'integer', { bits: 32 }), nullable: false }, col('Status', 'text', 'text')];

  it('MariaDB/MySQL store it as VARCHAR(maxLength); PostgreSQL keeps text; a declared length wins', () => {
    const lengths = new Map([['status', 9]]);
    for (const d of [new MariaDbDialect(), new MySqlDialect()]) {
      expect(d.createTable('t', columns, ['id'], { lengths })[0]).toContain('`Status` VARCHAR(9),');
      expect(d.createTable('t', columns, ['id'])[0]).toContain('`Status` LONGTEXT,');
      // In a key: the bound replaces VARCHAR(255).
      expect(d.createTable('t', columns, ['id'], { lengths, indexes: [{ columns: ['Status'] }] })[0]).toContain(
        '`Status` VARCHAR(9),',
      );
      expect(d.columnType(col('s', 'text', 'varchar(20)', { length: 20 }), { maxLength: 9 })).toBe('VARCHAR(20)');
      expect(d.columnType(col('s', 'text', 'text'), { maxLength: 0 })).toBe('VARCHAR(1)');
      expect(d.columnType(col('s', 'text', 'text'), { maxLength: 20_000 })).toBe('LONGTEXT');
    }
    expect(new PostgresDialect().createTable('t', columns, ['id'], { lengths })[0]).toContain('"Status" text');
    expect(new SqliteDialect().createTable('t', columns, ['id'], { lengths })[0]).toContain('"Status" TEXT');
  });

  const catalog: Catalog = {
    relations: [
      relation(
        'payment',
        [
          ['id', T.int],
          ['method', T.text],
          ['region', T.text],
          ['note', T.text],
          ['kind', T.text],
          ['code', T.text],
          ['grade', T.text],
          ['qty', T.int],
          ['label', T.text],
          ['secret', T.text],
        ],
        ['id'],
        {
          checks: [
            { name: 'method_ok', expression: "method IN ('mpesa', 'card', 'paypal', 'cash')" },
            // A conjunct of a top-level AND bounds; two bounds on one column: the smaller holds.
            { name: 'region_ok', expression: "region IN ('NBO', 'MSA', 'KSM', 'NAKURU') AND qty > 0" },
            { name: 'region_short', expression: "region IN ('NBO', 'MSA', 'KSM')" },
            { name: 'kind_ok', expression: "kind NOT IN ('a', 'b')" },
            { name: 'code_ok', expression: 'code IN (1, 2)' }, // not a string list: not carried, bounds nothing
            { name: 'grade_ok', expression: "grade IN ('a', 'bb') OR grade IS NULL" },
            { name: 'qty_ok', expression: 'qty IN (1, 2, 3)' },
            { name: 'label_ok', expression: "label = 'café😀'" }, // characters (code points), not UTF-16 units
            { name: 'secret_ok', expression: "secret IN ('xyzzy') AND note <> ''" },
          ],
        },
      ),
    ],
  };
  const design = (decision: string, fragments: string) =>
    resolveDesign(
      parseDesign(
        [
          'name: bounded',
          'source: ./source.sql',
          'sites:',
          `  MAR: { engine: mariadb, url: "mysql://root@127.0.0.1:3306/x"${decision === 'MAR' ? ', decision: true' : ''} }`,
          '  MY: { engine: mysql, url: "mysql://root@127.0.0.1:3307/x" }',
          `  PG: { engine: postgres, url: "postgres://u@127.0.0.1:5432/x"${decision === 'PG' ? ', decision: true' : ''} }`,
          'fragments:',
          fragments,
        ].join('\n'),
        '/tmp/x/design.yaml',
      ),
      catalog,
    );

  it('the layout reads the bounds from the carried CHECKs; the DDL uses them on MariaDB/MySQL only', () => {
    const resolved = design(
      'PG',
      [
        '  - { name: P_ALL, of: payment, sites: [MAR, MY, PG] }',
        // Without `note`, secret's CHECK (which names note) is not carried: no bound.
        '  - { name: P_COLS, of: payment, columns: [id, method, secret], sites: [MAR] }',
      ].join('\n'),
    );
    const layouts = layoutSites(resolved);
    const table = (site: string, name: string) =>
      layouts.find((l) => l.site.name === site)!.tables.find((t) => t.table === name)!;
    expect(Object.fromEntries(table('MAR', 'p_all').lengths)).toEqual({ method: 6, region: 3, label: 5, secret: 5 });
    expect(Object.fromEntries(table('MAR', 'p_cols').lengths)).toEqual({ method: 6 });
    const ddl = (site: string, name: string) => {
      const l = layouts.find((x) => x.site.name === site)!;
      const t = table(site, name);
      return l.dialect.createTable(t.table, t.columns, t.primaryKey, { checks: t.checks, lengths: t.lengths })[0]!;
    };
    for (const site of ['MAR', 'MY']) {
      const sql = ddl(site, 'p_all');
      expect(sql).toContain('`method` VARCHAR(6)');
      expect(sql).toContain('`region` VARCHAR(3)');
      expect(sql).toContain('`label` VARCHAR(5)');
      expect(sql).toContain('`secret` VARCHAR(5)');
      for (const unbounded of ['note', 'kind', 'code', 'grade']) expect(sql).toContain(`\`${unbounded}\` LONGTEXT`);
      expect(sql).toContain('`qty` INT');
    }
    expect(ddl('MAR', 'p_cols')).toContain('`secret` LONGTEXT');
    expect(ddl('PG', 'p_all')).not.toMatch(/varchar/i);
    expect(ddl('PG', 'p_all')).toContain('"method" text');

    // The scripts (what deploy runs) agree.
    const scripts = generateScripts(resolved, 'test');
    expect(scripts.find((x) => x.site.name === 'MAR')!.sql).toContain('`method` VARCHAR(6)');
    expect(scripts.find((x) => x.site.name === 'PG')!.sql).toContain('"method" text');
  });

  it("a MariaDB decision site's FederatedX tables get the remote table's VARCHAR", () => {
    const resolved = design('MAR', '  - { name: P_ALL, of: payment, sites: [MY] }');
    const sql = generateScripts(resolved, 'test').find((x) => x.site.name === 'MAR')!.sql;
    const federated = /CREATE TABLE `ddb_my__p_all` \([^;]*ENGINE=FEDERATED/.exec(sql)?.[0];
    expect(federated).toBeDefined();
    expect(federated).toContain('`method` VARCHAR(6)');
    expect(federated).toContain('`note` LONGTEXT');
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
