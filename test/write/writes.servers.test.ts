/**
 * Issue 5 §1–§3: writes on global relations, on the library example deployed across real
 * PostgreSQL and MariaDB servers (and SQLite as a participant without two-phase commit). Every
 * effect is checked on the sites directly, not only through ddbkit: where a row landed, that a
 * moved row (and the rows derived from it) left its old fragment, that replicas agree, that a
 * refused statement or a rolled-back transaction left nothing behind, that nothing stays prepared.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SourceDatabase, openSource } from '../../src/engines/source.js';
import { type DistributedDatabase, openDistributed } from '../../src/query/distributed.js';
import { WriteError } from '../../src/write/errors.js';
import { type MariaHandle, type PgHandle, root, serversUnavailableReason, startMaria, startPg } from '../deploy/support.js';
import { type LibraryDeployment, MARIA_PW_VAR, deployLibrary } from './support.js';

const unavailable = serversUnavailableReason();
if (unavailable) console.warn(`\n*** SKIPPING write tests against real PostgreSQL/MariaDB servers: ${unavailable} ***\n`);

const PASSWORD = `Wr1${Math.random().toString(36).slice(2, 10)}Zq8`;

describe.skipIf(unavailable !== undefined)('writes through the library example on PostgreSQL + MariaDB + PostgreSQL', () => {
  let pg: PgHandle;
  let maria: MariaHandle;
  let source: SourceDatabase;
  let lib: LibraryDeployment;
  let db: DistributedDatabase;

  const enit = <T = Record<string, unknown>>(sql: string) => pg.sql<T>(lib.databases.enit, sql);
  const fsegt = <T = Record<string, unknown>>(sql: string) => pg.sql<T>(lib.databases.fsegt, sql);
  const fst = <T = Record<string, unknown>>(sql: string) => maria.sql<T>(lib.databases.fst, sql);
  const count = async (site: (sql: string) => Promise<Array<Record<string, unknown>>>, sql: string) =>
    Number(Object.values((await site(sql))[0]!)[0]);
  const prepared = async () => ({
    pg: (await pg.sql('postgres', 'SELECT gid FROM pg_prepared_xacts')).length,
    maria: (await maria.sql('mysql', 'XA RECOVER')).length,
  });

  beforeAll(async () => {
    process.env[MARIA_PW_VAR] = PASSWORD;
    [pg, maria, source] = await Promise.all([
      startPg(),
      startMaria(PASSWORD),
      openSource(path.join(root, 'examples/library/library.sql'), root),
    ]);
    lib = await deployLibrary(pg, maria, source);
    db = await openDistributed(lib.designFile);
  }, 240_000);

  afterAll(async () => {
    await db?.close();
    await source?.close();
    await Promise.all([pg?.server.stop(), maria?.server.stop()]);
    delete process.env[MARIA_PW_VAR];
  });

  it('routes an INSERT to the fragment its predicate selects, and a derived row to its parent’s site', async () => {
    const r = await db.execute(
      "INSERT INTO book (id_book, title, editor, year, area, stock, website, site) VALUES (70001, 'Principles of Distributed Database Systems', 'Springer', 2020, 'Computer Science', 3, NULL, 'FST') RETURNING id_book, site",
    );
    expect(r.rows).toEqual([{ id_book: 70001, site: 'FST' }]);
    expect(await count(fst, 'SELECT count(*) FROM book_fst WHERE id_book = 70001')).toBe(1);
    expect(await count(enit, 'SELECT count(*) FROM book_enit WHERE id_book = 70001')).toBe(0);
    expect(await count(fsegt, 'SELECT count(*) FROM book_fsegt WHERE id_book = 70001')).toBe(0);

    await db.execute(
      "INSERT INTO author (id_book, au_lname, au_fname) VALUES (70001, 'Ozsu', 'Tamer'), (70001, 'Valduriez', 'Patrick')",
    );
    await db.execute("INSERT INTO loan (id_book, nce, date_borrowing, return_date) VALUES (70001, 20230001, '2026-11-02', NULL)");
    expect(await count(fst, 'SELECT count(*) FROM author_fst WHERE id_book = 70001')).toBe(2);
    expect(await count(fst, 'SELECT count(*) FROM loan_fst WHERE id_book = 70001')).toBe(1);
    expect(await count(enit, 'SELECT count(*) FROM loan_enit WHERE id_book = 70001')).toBe(0);
  });

  it('moves a row whose predicate value changes, with the rows derived from it, atomically', async () => {
    const before = await prepared();
    const r = await db.execute("UPDATE book SET site = 'FSEGT' WHERE id_book = 70001");
    expect(r.rowCount).toBe(1);
    expect(r.path).toBe('row by row');
    expect(await count(fst, 'SELECT count(*) FROM book_fst WHERE id_book = 70001')).toBe(0);
    expect(await count(fsegt, 'SELECT count(*) FROM book_fsegt WHERE id_book = 70001')).toBe(1);
    expect(await count(fst, 'SELECT count(*) FROM author_fst WHERE id_book = 70001')).toBe(0);
    expect(await count(fsegt, 'SELECT count(*) FROM author_fsegt WHERE id_book = 70001')).toBe(2);
    expect(await count(fst, 'SELECT count(*) FROM loan_fst WHERE id_book = 70001')).toBe(0);
    expect(await count(fsegt, 'SELECT count(*) FROM loan_fsegt WHERE id_book = 70001')).toBe(1);
    expect(await db.execute('SELECT site, title FROM book WHERE id_book = 70001')).toMatchObject({
      rows: [{ site: 'FSEGT', title: 'Principles of Distributed Database Systems' }],
    });
    expect(await prepared()).toEqual(before);
  });

  it('moves the administrative part of a student between schools (vertical + horizontal)', async () => {
    const [s] = await enit<{ nce: number }>('SELECT nce FROM student_enit ORDER BY nce LIMIT 1');
    await db.execute(`UPDATE student SET institution = 'FST', class = 'FST-1' WHERE nce = ${s!.nce}`);
    expect(await count(enit, `SELECT count(*) FROM student_enit WHERE nce = ${s!.nce}`)).toBe(0);
    expect(await fst(`SELECT class FROM student_fst WHERE nce = ${s!.nce}`)).toEqual([{ class: 'FST-1' }]);
    // The lending part (replicated everywhere) was not touched and is still there.
    for (const site of [enit, fsegt]) expect(await count(site, `SELECT count(*) FROM student_bib WHERE nce = ${s!.nce}`)).toBe(1);
    expect(await count(fst, `SELECT count(*) FROM student_bib WHERE nce = ${s!.nce}`)).toBe(1);
  });

  it('updates every synchronous replica in one two-phase commit, in place', async () => {
    const nce = 20230002;
    const read = async () => [
      Number((await enit<{ n: number }>(`SELECT nb_borrow AS n FROM student_bib WHERE nce = ${nce}`))[0]!.n),
      Number((await fst<{ n: number }>(`SELECT nb_borrow AS n FROM student_bib WHERE nce = ${nce}`))[0]!.n),
      Number((await fsegt<{ n: number }>(`SELECT nb_borrow AS n FROM student_bib WHERE nce = ${nce}`))[0]!.n),
    ];
    const [b] = await read();
    const r = await db.execute('UPDATE student SET nb_borrow = nb_borrow + 1 WHERE nce = $1', [nce]);
    expect(r).toMatchObject({ rowCount: 1, path: 'in place' });
    expect(await read()).toEqual([b! + 1, b! + 1, b! + 1]);
    expect(await prepared()).toEqual({ pg: 0, maria: 0 });
  });

  it('refuses what the central database refused, naming the constraint, and writes nothing', async () => {
    const books = async () =>
      (await count(enit, 'SELECT count(*) FROM book_enit')) +
      (await count(fst, 'SELECT count(*) FROM book_fst')) +
      (await count(fsegt, 'SELECT count(*) FROM book_fsegt'));
    const n = await books();
    // The key exists at FSEGT; the new row would go to ENIT: only a cross-site probe sees it.
    await expect(
      db.execute(
        "INSERT INTO book (id_book, title, editor, year, area, stock, site) VALUES (70001, 'Dup', 'X', 2020, 'CS', 1, 'ENIT')",
      ),
    ).rejects.toThrow(/duplicate key value violates the primary key of book/);
    await expect(db.execute("INSERT INTO loan (id_book, nce, date_borrowing) VALUES (70001, 1, '2026-01-01')")).rejects.toThrow(
      /foreign key loan_nce_fkey/,
    );
    await expect(
      db.execute(
        "INSERT INTO book (id_book, title, editor, year, area, stock, site) VALUES (70002, 'Mars', 'X', 2020, 'CS', 1, 'MARS')",
      ),
    ).rejects.toThrow(/check constraint book_site_check|belongs to no fragment/);
    await expect(
      db.execute(
        "INSERT INTO book (id_book, title, editor, year, area, stock, site) VALUES (70003, NULL, 'X', 2020, 'CS', 1, 'ENIT')",
      ),
    ).rejects.toThrow(/not-null/);
    await expect(db.execute('DELETE FROM book WHERE id_book = 70001')).rejects.toThrow(/still referenced from (author|loan)/);
    // A multi-row statement is all or nothing: the second row's parent is missing.
    await expect(
      db.execute(
        "INSERT INTO book (id_book, title, editor, year, area, stock, site) VALUES (70004, 'A', 'X', 2020, 'CS', 1, 'ENIT'), (70005, 'B', 'X', 2020, 'CS', -1, 'FST')",
      ),
    ).rejects.toBeInstanceOf(WriteError);
    expect(await books()).toBe(n);
    expect(await prepared()).toEqual({ pg: 0, maria: 0 });
  });

  it('commits a transaction across three sites, or rolls all of it back', async () => {
    const tx = db.begin();
    await tx.query(
      "INSERT INTO book (id_book, title, editor, year, area, stock, site) VALUES (70010, 'T1', 'X', 2021, 'CS', 1, 'ENIT')",
    );
    await tx.query(
      "INSERT INTO book (id_book, title, editor, year, area, stock, site) VALUES (70011, 'T2', 'X', 2021, 'CS', 1, 'FST')",
    );
    await tx.query(
      "INSERT INTO book (id_book, title, editor, year, area, stock, site) VALUES (70012, 'T3', 'X', 2021, 'CS', 1, 'FSEGT')",
    );
    // Its own writes are visible inside it, not outside.
    expect((await tx.query('SELECT id_book FROM book WHERE id_book BETWEEN 70010 AND 70012')).rowCount).toBe(3);
    expect(await count(fst, 'SELECT count(*) FROM book_fst WHERE id_book = 70011')).toBe(0);
    await tx.rollback();
    expect((await db.execute('SELECT id_book FROM book WHERE id_book BETWEEN 70010 AND 70012')).rowCount).toBe(0);

    await db.transaction(async (t) => {
      await t.query(
        "INSERT INTO book (id_book, title, editor, year, area, stock, site) VALUES (70010, 'T1', 'X', 2021, 'CS', 1, 'ENIT')",
      );
      await t.query(
        "INSERT INTO book (id_book, title, editor, year, area, stock, site) VALUES (70011, 'T2', 'X', 2021, 'CS', 1, 'FST')",
      );
      await t.query(
        "INSERT INTO book (id_book, title, editor, year, area, stock, site) VALUES (70012, 'T3', 'X', 2021, 'CS', 1, 'FSEGT')",
      );
    });
    expect(await count(enit, 'SELECT count(*) FROM book_enit WHERE id_book = 70010')).toBe(1);
    expect(await count(fst, 'SELECT count(*) FROM book_fst WHERE id_book = 70011')).toBe(1);
    expect(await count(fsegt, 'SELECT count(*) FROM book_fsegt WHERE id_book = 70012')).toBe(1);
    expect(await prepared()).toEqual({ pg: 0, maria: 0 });
  });

  it('a statement that fails inside a transaction leaves it only able to roll back', async () => {
    const tx = db.begin();
    await tx.query(
      "INSERT INTO book (id_book, title, editor, year, area, stock, site) VALUES (70020, 'F', 'X', 2021, 'CS', 1, 'FST')",
    );
    await expect(tx.query("INSERT INTO loan (id_book, nce, date_borrowing) VALUES (70020, 1, '2026-01-01')")).rejects.toThrow(
      /foreign key/,
    );
    await expect(tx.query('SELECT 1')).rejects.toThrow(/aborted/);
    await expect(tx.commit()).rejects.toThrow(/rolled back/);
    expect(await count(fst, 'SELECT count(*) FROM book_fst WHERE id_book = 70020')).toBe(0);
  });

  it('runs a borrow with SELECT … FOR UPDATE as a script through the CLI path', async () => {
    const results = await db.runScript(`
      BEGIN;
      SELECT stock FROM book WHERE id_book = 70010 FOR UPDATE;
      SELECT nb_borrow FROM student WHERE nce = 20230003 FOR UPDATE;
      INSERT INTO loan (id_book, nce, date_borrowing) VALUES (70010, 20230003, '2026-11-20');
      UPDATE book SET stock = stock - 1 WHERE id_book = 70010;
      UPDATE student SET nb_borrow = nb_borrow + 1 WHERE nce = 20230003;
      COMMIT;`);
    expect(results.map((r) => r.command)).toEqual(['BEGIN', 'SELECT', 'SELECT', 'INSERT', 'UPDATE', 'UPDATE', 'COMMIT']);
    expect(await count(enit, 'SELECT stock FROM book_enit WHERE id_book = 70010')).toBe(0);
    expect(await count(enit, 'SELECT count(*) FROM loan_enit WHERE id_book = 70010')).toBe(1);
    const bib = async (site: typeof enit) => count(site, 'SELECT nb_borrow FROM student_bib WHERE nce = 20230003');
    const n = await bib(enit);
    expect([await bib(fst), await bib(fsegt)]).toEqual([n, n]);
    // The stock CHECK (stock >= 0) holds across the distributed write.
    await expect(db.execute('UPDATE book SET stock = stock - 1 WHERE id_book = 70010')).rejects.toThrow(/check|constraint/i);
  });

  it('deletes in place when nothing references the rows, row by row (with the checks) otherwise', async () => {
    const r = await db.execute('DELETE FROM loan WHERE id_book = 70001');
    expect(r).toMatchObject({ rowCount: 1, path: 'in place' });
    const a = await db.execute('DELETE FROM author WHERE id_book = 70001 RETURNING au_lname');
    expect(a.rows.map((x) => x['au_lname']).sort()).toEqual(['Ozsu', 'Valduriez']);
    const b = await db.execute('DELETE FROM book WHERE id_book = 70001');
    expect(b.rowCount).toBe(1);
    expect(await count(fsegt, 'SELECT count(*) FROM book_fsegt WHERE id_book = 70001')).toBe(0);
  });
});

describe.skipIf(unavailable !== undefined)('participants without two-phase commit', () => {
  let pg: PgHandle;
  let maria: MariaHandle;
  let source: SourceDatabase;

  beforeAll(async () => {
    process.env[MARIA_PW_VAR] = PASSWORD;
    [pg, maria, source] = await Promise.all([
      startPg(),
      startMaria(PASSWORD),
      openSource(path.join(root, 'examples/library/library.sql'), root),
    ]);
  }, 240_000);

  afterAll(async () => {
    await source?.close();
    await Promise.all([pg?.server.stop(), maria?.server.stop()]);
    delete process.env[MARIA_PW_VAR];
  });

  it('one takes part as the last resource and records the decision; two in one transaction are refused', async () => {
    const lib = await deployLibrary(pg, maria, source, { fsegt: 'sqlite' });
    const db = await openDistributed(lib.designFile);
    try {
      const tx = db.begin();
      await tx.query(
        "INSERT INTO book (id_book, title, editor, year, area, stock, site) VALUES (71001, 'L1', 'X', 2021, 'CS', 1, 'FSEGT')",
      );
      await tx.query(
        "INSERT INTO book (id_book, title, editor, year, area, stock, site) VALUES (71002, 'L2', 'X', 2021, 'CS', 1, 'ENIT')",
      );
      await tx.query(
        "INSERT INTO book (id_book, title, editor, year, area, stock, site) VALUES (71003, 'L3', 'X', 2021, 'CS', 1, 'FST')",
      );
      await tx.commit();
      expect((await db.execute('SELECT id_book FROM book WHERE id_book BETWEEN 71001 AND 71003')).rowCount).toBe(3);
      const marker = await db.execute(`SELECT 1 FROM book WHERE id_book = 71001`);
      expect(marker.rowCount).toBe(1);
    } finally {
      await db.close();
    }

    const two = await deployLibrary(pg, maria, source, { fsegt: 'sqlite', fst: 'sqlite' });
    const db2 = await openDistributed(two.designFile);
    try {
      const tx = db2.begin();
      await tx.query(
        "INSERT INTO book (id_book, title, editor, year, area, stock, site) VALUES (72001, 'A', 'X', 2021, 'CS', 1, 'FSEGT')",
      );
      await tx.query(
        "INSERT INTO book (id_book, title, editor, year, area, stock, site) VALUES (72002, 'B', 'X', 2021, 'CS', 1, 'FST')",
      );
      await expect(tx.commit()).rejects.toThrow(/FST \(sqlite\) and FSEGT \(sqlite\)|FSEGT \(sqlite\) and FST \(sqlite\)/);
      expect((await db2.execute('SELECT id_book FROM book WHERE id_book IN (72001, 72002)')).rowCount).toBe(0);
    } finally {
      await db2.close();
    }
  });
});
