import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findColumn, findRelation, type Catalog, type Relation } from '../src/catalog/types.js';
import { openSource, SourceError, type SourceDatabase } from '../src/engines/source.js';
import { postgresUnavailableReason, startPostgres, type PostgresServer } from './support/postgres-server.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const libraryDir = path.join(root, 'examples/library');
const ecommerceDir = path.join(root, 'examples/ecommerce');

function rel(catalog: Catalog, name: string): Relation {
  const r = findRelation(catalog, name);
  if (!r) throw new Error(`relation ${name} missing`);
  return r;
}

async function count(src: SourceDatabase, sql: string): Promise<number> {
  const rows = await src.runner.query<{ n: unknown }>(sql);
  return Number(rows[0]?.n);
}

function checkOf(r: Relation, fragment: string): string {
  const c = r.checks.find((k) => k.expression.includes(fragment));
  if (!c) throw new Error(`no CHECK on ${r.name} mentioning ${fragment}: ${JSON.stringify(r.checks)}`);
  return c.expression;
}

describe('library.sql source (PGlite)', () => {
  let src: SourceDatabase;
  beforeAll(async () => {
    src = await openSource('./library.sql', libraryDir);
  });
  afterAll(async () => {
    await src?.close();
  });

  it('describes the source', () => {
    expect(src.description).toContain('library.sql');
  });

  it('has exactly the five tables, in name order', () => {
    expect(src.catalog.relations.map((r) => r.name)).toEqual(['author', 'book', 'employee', 'loan', 'student']);
  });

  it('introspects columns, types and nullability', () => {
    const student = rel(src.catalog, 'STUDENT');
    expect(student.columns.map((c) => c.name)).toEqual(['nce', 'fname', 'lname', 'address', 'institution', 'class', 'nb_borrow']);
    expect(findColumn(student, 'NCE')?.type).toEqual({ family: 'integer', sqlType: 'integer', bits: 32 });
    expect(findColumn(student, 'institution')).toMatchObject({ nullable: false, type: { family: 'text', sqlType: 'text' } });
    expect(findColumn(student, 'address')?.nullable).toBe(true);
    expect(findColumn(student, 'nb_borrow')).toMatchObject({ nullable: false, defaultExpression: '0' });
    const loan = rel(src.catalog, 'loan');
    expect(findColumn(loan, 'date_borrowing')).toMatchObject({ nullable: false, type: { family: 'date', sqlType: 'date' } });
    expect(findColumn(loan, 'return_date')).toMatchObject({ nullable: true, type: { family: 'date' } });
    expect(findColumn(rel(src.catalog, 'book'), 'stock')?.nullable).toBe(false);
    expect(findColumn(rel(src.catalog, 'author'), 'id_book')?.nullable).toBe(false);
  });

  it('introspects primary keys in key order', () => {
    expect(rel(src.catalog, 'employee').primaryKey).toEqual(['nss']);
    expect(rel(src.catalog, 'student').primaryKey).toEqual(['nce']);
    expect(rel(src.catalog, 'book').primaryKey).toEqual(['id_book']);
    expect(rel(src.catalog, 'author').primaryKey).toEqual(['id_book', 'au_lname', 'au_fname']);
    expect(rel(src.catalog, 'loan').primaryKey).toEqual(['id_book', 'nce', 'date_borrowing']);
  });

  it('introspects foreign keys', () => {
    expect(rel(src.catalog, 'author').foreignKeys).toEqual([
      { name: 'author_id_book_fkey', columns: ['id_book'], references: { relation: 'book', columns: ['id_book'] } },
    ]);
    const loanFks = rel(src.catalog, 'loan').foreignKeys.map((f) => [f.columns, f.references]);
    expect(loanFks).toEqual([
      [['id_book'], { relation: 'book', columns: ['id_book'] }],
      [['nce'], { relation: 'student', columns: ['nce'] }],
    ]);
    expect(rel(src.catalog, 'student').foreignKeys).toEqual([]);
  });

  it('introspects CHECK constraints as PostgreSQL prints them', () => {
    expect(checkOf(rel(src.catalog, 'employee'), 'assignment')).toBe("(assignment = ANY (ARRAY['ENIT'::text, 'FST'::text, 'FSEGT'::text]))");
    expect(checkOf(rel(src.catalog, 'student'), 'institution')).toBe("(institution = ANY (ARRAY['ENIT'::text, 'FST'::text, 'FSEGT'::text]))");
    expect(checkOf(rel(src.catalog, 'student'), 'nb_borrow')).toBe('((nb_borrow >= 0) AND (nb_borrow <= 5))');
    expect(checkOf(rel(src.catalog, 'book'), 'stock')).toBe('(stock >= 0)');
    expect(checkOf(rel(src.catalog, 'book'), 'site')).toBe("(site = ANY (ARRAY['ENIT'::text, 'FST'::text, 'FSEGT'::text]))");
    for (const r of src.catalog.relations) for (const c of r.checks) expect(c.expression).not.toMatch(/^CHECK/i);
    // NOT NULL is a column property, never reported as a CHECK (PostgreSQL 18 stores it in pg_constraint).
    expect(rel(src.catalog, 'loan').checks).toEqual([]);
  });

  it('holds the expected number of rows', async () => {
    expect(await count(src, 'SELECT count(*) AS n FROM employee')).toBe(60);
    expect(await count(src, 'SELECT count(*) AS n FROM student')).toBe(3000);
    expect(await count(src, 'SELECT count(*) AS n FROM book')).toBe(2000);
    const authors = await count(src, 'SELECT count(*) AS n FROM author');
    expect(authors).toBeGreaterThan(2700);
    expect(authors).toBeLessThan(3300);
    const loans = await count(src, 'SELECT count(*) AS n FROM loan');
    expect(loans).toBeGreaterThan(4500);
    expect(loans).toBeLessThanOrEqual(5000);
  });

  it('spreads rows over the three schools', async () => {
    const rows = await src.runner.query<{ site: string; n: number }>('SELECT site, count(*)::int AS n FROM book GROUP BY site ORDER BY site');
    expect(rows.map((r) => r.site)).toEqual(['ENIT', 'FSEGT', 'FST']);
    for (const r of rows) expect(r.n).toBeGreaterThan(300);
    const emp = await src.runner.query<{ assignment: string; n: number }>('SELECT assignment, count(*)::int AS n FROM employee GROUP BY 1 ORDER BY 1');
    expect(emp).toEqual([{ assignment: 'ENIT', n: 20 }, { assignment: 'FSEGT', n: 20 }, { assignment: 'FST', n: 20 }]);
  });

  it('keeps nb_borrow equal to the open loans (at most 5) of each student', async () => {
    const mismatches = await count(
      src,
      `SELECT count(*) AS n FROM student s
         LEFT JOIN (SELECT nce, count(*) AS open_loans FROM loan WHERE return_date IS NULL GROUP BY nce) o USING (nce)
        WHERE s.nb_borrow <> coalesce(o.open_loans, 0)`,
    );
    expect(mismatches).toBe(0);
    expect(await count(src, 'SELECT max(nb_borrow) AS n FROM student')).toBeLessThanOrEqual(5);
    expect(await count(src, 'SELECT count(*) AS n FROM student WHERE nb_borrow > 0')).toBeGreaterThan(50);
    expect(await count(src, 'SELECT count(*) AS n FROM loan WHERE return_date < date_borrowing')).toBe(0);
  });

  it('maps every type family and reads other schemas', async () => {
    const { introspectPostgres } = await import('../src/engines/introspect-postgres.js');
    await src.runner.query('CREATE SCHEMA typetest');
    try {
      await src.runner.query(`CREATE TABLE typetest."Mixed" (
        s smallint, i integer, b bigint, n numeric, d numeric(8,3), r real, f double precision,
        t text, v varchar(40), c char(3), ok boolean NOT NULL DEFAULT true, dt date,
        ts timestamp(3), tz timestamptz, tm time, j json, jb jsonb, by bytea, u uuid, ip inet, a int[],
        CONSTRAINT mixed_pk PRIMARY KEY (v, i), CONSTRAINT "Weird check" CHECK (r > 0) NOT VALID)`);
      await src.runner.query('CREATE VIEW typetest.not_a_table AS SELECT 1 AS x');
      const cat = await introspectPostgres(src.runner, 'typetest');
      expect(cat.relations.map((r) => r.name)).toEqual(['Mixed']);
      const m = cat.relations[0]!;
      const ty = Object.fromEntries(m.columns.map((c) => [c.name, c.type]));
      expect(ty.s).toEqual({ family: 'integer', sqlType: 'smallint', bits: 16 });
      expect(ty.b).toEqual({ family: 'integer', sqlType: 'bigint', bits: 64 });
      expect(ty.n).toEqual({ family: 'decimal', sqlType: 'numeric' });
      expect(ty.d).toEqual({ family: 'decimal', sqlType: 'numeric(8,3)', precision: 8, scale: 3 });
      expect(ty.r?.family).toBe('float');
      expect(ty.f?.family).toBe('float');
      expect(ty.v).toEqual({ family: 'text', sqlType: 'character varying(40)', length: 40 });
      expect(ty.c).toEqual({ family: 'text', sqlType: 'character(3)', length: 3 });
      expect(ty.ok?.family).toBe('boolean');
      expect(ty.ts).toEqual({ family: 'timestamp', sqlType: 'timestamp(3) without time zone' });
      expect(ty.tz?.family).toBe('timestamptz');
      expect(ty.tm?.family).toBe('time');
      expect([ty.j?.family, ty.jb?.family, ty.by?.family, ty.u?.family]).toEqual(['json', 'json', 'binary', 'uuid']);
      expect([ty.ip?.family, ty.a?.family, ty.a?.sqlType]).toEqual(['other', 'other', 'integer[]']);
      expect(m.primaryKey).toEqual(['v', 'i']);
      expect(m.columns.find((c) => c.name === 'ok')).toMatchObject({ nullable: false, defaultExpression: 'true' });
      expect(m.columns.find((c) => c.name === 'v')?.nullable).toBe(false); // primary key columns are NOT NULL
      expect(m.checks).toEqual([{ name: 'Weird check', expression: '(r > (0)::double precision)' }]);
    } finally {
      await src.runner.query('DROP SCHEMA typetest CASCADE');
    }
  });

  it('leaves no helper objects behind', async () => {
    expect(await count(src, "SELECT count(*) AS n FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'")).toBe(0);
  });

  describe('the same script in a real PostgreSQL 15, opened by URL', () => {
    const unavailable = postgresUnavailableReason();
    if (unavailable) {
      console.warn(`\n*** SKIPPING PostgreSQL source tests: ${unavailable} ***\n`);
    }
    let server: PostgresServer | undefined;
    let pgSrc: SourceDatabase | undefined;
    beforeAll(async () => {
      if (unavailable) return;
      server = await startPostgres();
      const { PgRunner } = await import('../src/engines/postgres/pg-runner.js');
      const admin = await PgRunner.connect(server.url);
      try {
        await admin.exec('CREATE DATABASE library');
      } finally {
        await admin.close();
      }
      const { readFile } = await import('node:fs/promises');
      const script = await readFile(path.join(libraryDir, 'library.sql'), 'utf8');
      const loader = await PgRunner.connect(server.url.replace(/\/postgres$/, '/library'));
      try {
        await loader.exec(script);
      } finally {
        await loader.close();
      }
    });
    afterAll(async () => {
      await pgSrc?.close();
      await server?.stop();
    });

    it.skipIf(!!unavailable)('introspects the same catalog as PGlite, password redacted', async () => {
      process.env.DDBKIT_TEST_PG_PASSWORD = 'top-secret-pw';
      try {
        const url = server!.url.replace('postgres@', 'postgres:${DDBKIT_TEST_PG_PASSWORD}@').replace(/\/postgres$/, '/library');
        pgSrc = await openSource(url, libraryDir);
      } finally {
        delete process.env.DDBKIT_TEST_PG_PASSWORD;
      }
      expect(pgSrc.description).toContain('postgres:***@127.0.0.1');
      expect(pgSrc.description).not.toContain('top-secret-pw');
      expect(pgSrc.catalog).toEqual(src.catalog);
      expect(await count(pgSrc, 'SELECT count(*) AS n FROM loan')).toBe(await count(src, 'SELECT count(*) AS n FROM loan'));
      // Deterministic generation: the same rows on both engines.
      const digest = "SELECT md5(string_agg(l::text, ',' ORDER BY id_book, nce, date_borrowing)) AS n FROM loan l";
      const [a] = await pgSrc.runner.query<{ n: string }>(digest);
      const [b] = await src.runner.query<{ n: string }>(digest);
      expect(a?.n).toBe(b?.n);
    });
  });
});

describe('ecommerce.sql source (PGlite)', () => {
  let src: SourceDatabase;
  beforeAll(async () => {
    src = await openSource('ecommerce.sql', ecommerceDir);
  });
  afterAll(async () => {
    await src?.close();
  });

  it('has the six tables', () => {
    expect(src.catalog.relations.map((r) => r.name)).toEqual(['customer', 'order_item', 'orders', 'payment', 'product', 'region']);
  });

  it('introspects keys and foreign keys', () => {
    expect(rel(src.catalog, 'region').primaryKey).toEqual(['region_code']);
    expect(rel(src.catalog, 'order_item').primaryKey).toEqual(['order_id', 'line_no']);
    expect(rel(src.catalog, 'customer').foreignKeys.map((f) => [f.columns, f.references])).toEqual([
      [['region'], { relation: 'region', columns: ['region_code'] }],
    ]);
    expect(rel(src.catalog, 'orders').foreignKeys.map((f) => [f.columns, f.references])).toEqual([
      [['customer_id'], { relation: 'customer', columns: ['customer_id'] }],
    ]);
    expect(rel(src.catalog, 'order_item').foreignKeys.map((f) => [f.columns, f.references])).toEqual([
      [['order_id'], { relation: 'orders', columns: ['order_id'] }],
      [['product_id'], { relation: 'product', columns: ['product_id'] }],
    ]);
    expect(rel(src.catalog, 'payment').foreignKeys.map((f) => [f.columns, f.references])).toEqual([
      [['order_id'], { relation: 'orders', columns: ['order_id'] }],
    ]);
  });

  it('maps numeric, timestamp and timestamptz types', () => {
    const product = rel(src.catalog, 'product');
    expect(findColumn(product, 'price')?.type).toEqual({ family: 'decimal', sqlType: 'numeric(10,2)', precision: 10, scale: 2 });
    expect(findColumn(product, 'weight_kg')).toMatchObject({ nullable: true, type: { family: 'decimal', precision: 6, scale: 3 } });
    expect(findColumn(rel(src.catalog, 'payment'), 'amount')?.type).toMatchObject({ precision: 12, scale: 2 });
    expect(findColumn(rel(src.catalog, 'payment'), 'paid_at')?.type).toEqual({ family: 'timestamptz', sqlType: 'timestamp with time zone' });
    expect(findColumn(rel(src.catalog, 'customer'), 'created_at')?.type).toEqual({ family: 'timestamp', sqlType: 'timestamp without time zone' });
    expect(findColumn(rel(src.catalog, 'orders'), 'ship_date')).toMatchObject({ nullable: true, type: { family: 'date' } });
    expect(findColumn(rel(src.catalog, 'orders'), 'order_date')?.nullable).toBe(false);
  });

  it('introspects CHECK constraints as PostgreSQL prints them', () => {
    expect(checkOf(rel(src.catalog, 'customer'), 'region')).toBe("(region = ANY (ARRAY['NBO'::text, 'MSA'::text, 'KSM'::text]))");
    expect(checkOf(rel(src.catalog, 'product'), 'price')).toBe('(price > (0)::numeric)');
    expect(checkOf(rel(src.catalog, 'product'), 'stock')).toBe('(stock >= 0)');
    expect(checkOf(rel(src.catalog, 'product'), 'category')).toContain("'electronics'::text");
    expect(checkOf(rel(src.catalog, 'orders'), 'status')).toBe(
      "(status = ANY (ARRAY['pending'::text, 'shipped'::text, 'delivered'::text, 'cancelled'::text]))",
    );
    expect(checkOf(rel(src.catalog, 'order_item'), 'quantity')).toBe('(quantity > 0)');
    expect(checkOf(rel(src.catalog, 'payment'), 'method')).toContain("'mpesa'::text");
  });

  it('holds the expected number of rows', async () => {
    expect(await count(src, 'SELECT count(*) AS n FROM region')).toBe(3);
    expect(await count(src, 'SELECT count(*) AS n FROM customer')).toBe(5000);
    expect(await count(src, 'SELECT count(*) AS n FROM product')).toBe(500);
    expect(await count(src, 'SELECT count(*) AS n FROM orders')).toBe(20000);
    const items = await count(src, 'SELECT count(*) AS n FROM order_item');
    expect(items).toBeGreaterThan(55000);
    expect(items).toBeLessThan(65000);
    const payments = await count(src, 'SELECT count(*) AS n FROM payment');
    expect(payments).toBeGreaterThan(17000);
    expect(payments).toBeLessThan(23000);
  });

  it('keeps the data consistent', async () => {
    expect(await count(src, 'SELECT count(*) AS n FROM orders o JOIN customer c USING (customer_id) WHERE o.region <> c.region')).toBe(0);
    expect(await count(src, "SELECT count(*) AS n FROM orders WHERE (ship_date IS NULL) <> (status IN ('pending', 'cancelled'))")).toBe(0);
    expect(await count(src, "SELECT count(*) AS n FROM orders WHERE status = 'pending'")).toBeGreaterThan(0);
    expect(await count(src, 'SELECT count(*) AS n FROM product WHERE weight_kg IS NULL')).toBeGreaterThan(0);
    expect(await count(src, 'SELECT count(*) AS n FROM product WHERE description IS NULL')).toBeGreaterThan(0);
    const unbalanced = await count(
      src,
      `SELECT count(*) AS n FROM (SELECT order_id, sum(amount) AS paid FROM payment GROUP BY order_id) p
         JOIN (SELECT order_id, sum(quantity * unit_price) AS total FROM order_item GROUP BY order_id) t USING (order_id)
        WHERE p.paid <> t.total`,
    );
    expect(unbalanced).toBe(0);
    const regions = await src.runner.query('SELECT region_code, name, currency FROM region ORDER BY region_code');
    expect(regions).toEqual([
      { region_code: 'KSM', name: 'Kisumu', currency: 'KES' },
      { region_code: 'MSA', name: 'Mombasa', currency: 'KES' },
      { region_code: 'NBO', name: 'Nairobi', currency: 'KES' },
    ]);
  });
});

describe('source errors', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ddbkit-src-'));
    writeFileSync(
      path.join(dir, 'broken.sql'),
      'CREATE TABLE t (a int PRIMARY KEY);\nINSERT INTO t VALUES (1);\nINSERT INTO nope VALUES (2);\n',
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the file and PostgreSQL message and position of a failing script', async () => {
    const err = await openSource('broken.sql', dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    const message = (err as Error).message;
    expect(message).toContain(path.join(dir, 'broken.sql'));
    expect(message).toContain('relation "nope" does not exist');
    expect(message).toContain('line 3');
    expect((err as SourceError).source).toBe('broken.sql');
  });

  it('reports a missing script', async () => {
    const err = await openSource('./missing.sql', dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toContain(path.join(dir, 'missing.sql'));
    expect((err as Error).message).toContain('not found');
  });

  it('rejects an unsupported source', async () => {
    const err = await openSource('mysql://u:pw@h/db', dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toContain('mysql://u:***@h/db');
    expect((err as Error).message).not.toContain(':pw@');
  });

  it('names an unset environment variable of a URL', async () => {
    const err = await openSource('postgres://app:${DDBKIT_SURELY_UNSET_PW}@127.0.0.1:1/db', dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toContain('DDBKIT_SURELY_UNSET_PW');
  });

  it('reports a failed connection without the password', async () => {
    // Port 1 on 127.0.0.1: nothing listens there.
    const err = await openSource('postgresql://app:hunter2-secret@127.0.0.1:1/shop', dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    const message = (err as Error).message;
    expect(message).toContain('postgresql://app:***@127.0.0.1:1/shop');
    expect(message).not.toContain('hunter2-secret');
    expect(JSON.stringify(err)).not.toContain('hunter2-secret');
  });
});
