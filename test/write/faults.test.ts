/**
 * Issue 5, section 5: faults against real sites (PostgreSQL 15, MariaDB, SQLite).
 *
 * 1. The coordinator dies at each failpoint (a child process running the built CLI exits with 86):
 *    the sites hold prepared transactions; `ddbkit recover` or opening the design finishes them,
 *    all committed (after-decision) or all rolled back (after-prepare), checked on each site with
 *    the engines' own drivers. Also with FSEGT on SQLite as the last resource.
 * 2. A participant (a MariaDB server of its own) is SIGKILLed before COMMIT: the commit fails
 *    naming the site, the PostgreSQL sites are rolled back, nothing is left prepared.
 * 3. A replica of a `replication: sync` fragment is unreachable (its own PostgreSQL server, stopped
 *    after deploy): the UPDATE fails naming the site, no reachable replica changed.
 * 4. Bank transfers: concurrent transfers between accounts on PostgreSQL and MariaDB, with
 *    SELECT … FOR UPDATE and retries; the total balance stays exact. Also with the payer locked
 *    first, so that transfers wait on each other across sites until a lock timeout (retried).
 * Recovery beside live coordinators: `db.recover()` while transfers run in the same process,
 * `ddbkit recover` in another process while a coordinator keeps its log open, and two
 * deployments of one design sharing a MariaDB server must not finish each other's transactions.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy } from '../../src/deploy/deploy.js';
import { loadDesign } from '../../src/design/load.js';
import { type SourceDatabase, openSource } from '../../src/engines/source.js';
import { type DistributedDatabase, openDistributed } from '../../src/query/distributed.js';
import { isRetryable } from '../../src/write/errors.js';
import {
  type MariaHandle,
  type PgHandle,
  type Run,
  cli,
  ensureBuilt,
  root,
  serversUnavailableReason,
  startMaria,
  startPg,
  writeVariant,
} from '../deploy/support.js';
import { type LibraryDeployment, MARIA_PW_VAR, deployLibrary } from './support.js';

const unavailable = serversUnavailableReason();
if (unavailable) {
  console.warn(`\n*** SKIPPING write fault tests against real PostgreSQL/MariaDB servers: ${unavailable} ***\n`);
}

const PASSWORD = `Fa7${Math.random().toString(36).slice(2, 10)}Lt9Zq`;
const FAILPOINT_EXIT = 86;
/** The transaction ids of the library design (recovery only touches ids with this prefix). */
const GID_PREFIX = 'ddbkit_';

type Row = Record<string, unknown>;

/** Rows as sorted JSON lines with every value as text (drivers differ in number types). */
function canonical(rows: Row[], columns: string[]): string[] {
  return rows.map((r) => JSON.stringify(columns.map((c) => (r[c] === null || r[c] === undefined ? null : String(r[c]))))).sort();
}

/** An exact decimal with at most two places, in cents. */
function cents(v: unknown): bigint {
  const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(String(v).trim());
  if (!m) throw new Error(`not a decimal with two places: ${String(v)}`);
  const n = BigInt(m[2]!) * 100n + BigInt((m[3] ?? '').padEnd(2, '0') || '0');
  return m[1] ? -n : n;
}

function showCents(c: bigint): string {
  const sign = c < 0n ? '-' : '';
  const a = c < 0n ? -c : c;
  return `${sign}${a / 100n}.${String(a % 100n).padStart(2, '0')}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(unavailable !== undefined)('write faults on real PostgreSQL + MariaDB + SQLite sites', () => {
  let pg: PgHandle;
  let maria: MariaHandle;
  /** A MariaDB of its own, SIGKILLed by the participant-dies test. */
  let victimMaria: MariaHandle;
  /** A PostgreSQL of its own, stopped by the unreachable-replica test. */
  let replicaPg: PgHandle;
  let library: SourceDatabase;
  let tmp: string;
  const stop: Array<() => Promise<void>> = [];
  const dbs: DistributedDatabase[] = [];
  const timings: string[] = [];
  /** Folders of library deployments (design, SQLite sites, decision log), removed at the end. */
  const deployments: string[] = [];

  beforeAll(async () => {
    const t0 = performance.now();
    process.env[MARIA_PW_VAR] = PASSWORD;
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ddbkit-faults-'));
    const started = <T extends { server: { stop(): Promise<void> } }>(p: Promise<T>) =>
      p.then((h) => {
        stop.push(() => h.server.stop());
        return h;
      });
    const all = [
      started(startPg()),
      started(startMaria(PASSWORD)),
      started(startMaria(PASSWORD)),
      started(startPg()),
      openSource(path.join(root, 'examples/library/library.sql'), root).then((s) => {
        stop.unshift(() => s.close());
        return s;
      }),
      ensureBuilt(),
    ] as const;
    const failed = (await Promise.allSettled(all)).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    [pg, maria, victimMaria, replicaPg, library] = await Promise.all(all.slice(0, 5) as unknown as typeof all);
    timings.push(`servers, source and build ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }, 300_000);

  afterAll(async () => {
    for (const db of dbs) await db.close().catch(() => {});
    for (const s of stop) await s().catch(() => {});
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    for (const d of deployments) rmSync(d, { recursive: true, force: true });
    delete process.env[MARIA_PW_VAR];
    console.log(`\nwrite fault timings:\n  ${timings.join('\n  ')}\n`);
  });

  async function deployed(...args: Parameters<typeof deployLibrary>): Promise<LibraryDeployment> {
    const d = await deployLibrary(...args);
    deployments.push(d.dir);
    return d;
  }

  async function open(designFile: string, options: Parameters<typeof openDistributed>[1] = {}): Promise<DistributedDatabase> {
    const db = await openDistributed(designFile, options);
    dbs.push(db);
    return db;
  }

  async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      timings.push(`${label}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  }

  // ─── Direct reads of the sites (the engines' own drivers, not ddbkit) ──────────────────────

  /** Prepared transactions of ddbkit on a PostgreSQL database. */
  async function pgPrepared(server: PgHandle, db: string): Promise<string[]> {
    const rows = await server.sql<{ gid: string }>(
      'postgres',
      `SELECT gid FROM pg_prepared_xacts WHERE database = '${db}' AND gid LIKE '${GID_PREFIX}%' ORDER BY gid`,
    );
    return rows.map((r) => r.gid);
  }

  /** XA transactions of ddbkit prepared on a MariaDB server (XA RECOVER is server-wide). */
  async function xaPrepared(server: MariaHandle): Promise<string[]> {
    const rows = await server.sql<{ data: unknown }>('mysql', 'XA RECOVER');
    return rows
      .map((r) => (Buffer.isBuffer(r.data) ? r.data.toString('utf8') : String(r.data)))
      .filter((g) => g.startsWith(GID_PREFIX))
      .sort();
  }

  function sqliteRows(file: string, sql: string): Row[] {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return db.prepare(sql).all() as Row[];
    } finally {
      db.close();
    }
  }

  // ─── 1. The coordinator dies at a failpoint ────────────────────────────────────────────────

  const BIB = ['nce', 'fname', 'lname', 'nb_borrow'];

  interface LibraryState {
    /** STUDENT_BIB at each site, canonical. */
    bib: Record<'ENIT' | 'FST' | 'FSEGT', string[]>;
    newStudentBib: Record<'ENIT' | 'FST' | 'FSEGT', number>;
    newStudentFsegt: number;
    newBookFst: number;
    borrowed: Record<'ENIT' | 'FST' | 'FSEGT', number>;
  }

  interface Probe {
    newNce: number;
    nce: number;
    newBook: number;
  }

  async function libraryState(d: LibraryDeployment, fsegt: 'postgres' | 'sqlite', p: Probe): Promise<LibraryState> {
    const bibSql = `SELECT ${BIB.join(', ')} FROM student_bib`;
    const enit = await pg.sql(d.databases.enit, bibSql);
    const fst = await maria.sql(d.databases.fst, bibSql);
    const fsegtFile = path.join(d.dir, 'sites', 'fsegt.db');
    const fsegtSql = async (sql: string): Promise<Row[]> =>
      fsegt === 'sqlite' ? sqliteRows(fsegtFile, sql) : pg.sql(d.databases.fsegt, sql);
    const seg = await fsegtSql(bibSql);
    const count = (rows: Row[], where: (r: Row) => boolean) => rows.filter(where).length;
    const isNew = (r: Row) => Number(r['nce']) === p.newNce;
    const borrowedOf = (rows: Row[]) => Number(rows.find((r) => Number(r['nce']) === p.nce)?.['nb_borrow']);
    return {
      bib: { ENIT: canonical(enit, BIB), FST: canonical(fst, BIB), FSEGT: canonical(seg, BIB) },
      newStudentBib: { ENIT: count(enit, isNew), FST: count(fst, isNew), FSEGT: count(seg, isNew) },
      newStudentFsegt: (await fsegtSql(`SELECT nce FROM student_fsegt WHERE nce = ${p.newNce}`)).length,
      newBookFst: (await maria.sql(d.databases.fst, `SELECT id_book FROM book_fst WHERE id_book = ${p.newBook}`)).length,
      borrowed: { ENIT: borrowedOf(enit), FST: borrowedOf(fst), FSEGT: borrowedOf(seg) },
    };
  }

  /** A student who may borrow one more book, and ids nobody uses. */
  async function probeFor(d: LibraryDeployment): Promise<Probe & { before: number }> {
    const [s] = await pg.sql<{ nce: number; nb_borrow: number; top: number }>(
      d.databases.enit,
      'SELECT nce, nb_borrow, (SELECT max(nce) FROM student_bib) AS top FROM student_bib WHERE nb_borrow < 5 ORDER BY nce LIMIT 1',
    );
    return { nce: s!.nce, before: s!.nb_borrow, newNce: s!.top + 7001, newBook: 9_700_001 };
  }

  /** One transaction writing all three sites: a new student (replicated + FSEGT), a borrow, a book at FST. */
  function scriptFor(p: Probe): string {
    return [
      'BEGIN;',
      `INSERT INTO student (nce, fname, lname, address, institution, class, nb_borrow) VALUES (${p.newNce}, 'Faiza', 'Crash', '1 rue du Journal', 'FSEGT', 'L1', 0);`,
      `UPDATE student SET nb_borrow = nb_borrow + 1 WHERE nce = ${p.nce};`,
      `INSERT INTO book (id_book, title, editor, year, area, stock, website, site) VALUES (${p.newBook}, 'Recovery in Practice', 'ddbkit', 2026, 'CS', 2, NULL, 'FST');`,
      'COMMIT;',
      '',
    ].join('\n');
  }

  function txlogGids(d: LibraryDeployment): Array<{ gid: string; state: string; pid?: number }> {
    // Every coordinator process appends to a file of its own in the log's folder.
    const dir = path.join(d.dir, '.ddbkit', 'university-library.txlog.d');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .map((n) => readFileSync(path.join(dir, n), 'utf8'))
      .join('')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { gid: string; state: string; pid?: number });
  }

  interface CrashCase {
    failpoint: 'after-prepare' | 'after-decision';
    fsegt: 'postgres' | 'sqlite';
    recoverBy: 'cli' | 'open';
  }

  const crashCases: CrashCase[] = [
    { failpoint: 'after-prepare', fsegt: 'postgres', recoverBy: 'cli' },
    { failpoint: 'after-prepare', fsegt: 'postgres', recoverBy: 'open' },
    { failpoint: 'after-decision', fsegt: 'postgres', recoverBy: 'cli' },
    { failpoint: 'after-decision', fsegt: 'postgres', recoverBy: 'open' },
    { failpoint: 'after-prepare', fsegt: 'sqlite', recoverBy: 'cli' },
    { failpoint: 'after-decision', fsegt: 'sqlite', recoverBy: 'open' },
  ];

  describe('the coordinator dies at a failpoint', () => {
    for (const c of crashCases) {
      const outcome = c.failpoint === 'after-prepare' ? 'rolled back' : 'committed';
      const label = `${c.failpoint}, FSEGT on ${c.fsegt === 'sqlite' ? 'SQLite (last resource)' : 'PostgreSQL'}, recovered by ${c.recoverBy === 'cli' ? '`ddbkit recover`' : 'opening the design'}: ${outcome} everywhere`;
      it(
        label,
        async () => {
          const d = await timed(`deploy library (FSEGT ${c.fsegt})`, () => deployed(pg, maria, library, { fsegt: c.fsegt }));
          const p = await probeFor(d);
          const before = await libraryState(d, c.fsegt, p);
          // The replicas agree before anything happens.
          expect(before.bib.FST).toEqual(before.bib.ENIT);
          expect(before.bib.FSEGT).toEqual(before.bib.ENIT);
          expect(before.newStudentBib).toEqual({ ENIT: 0, FST: 0, FSEGT: 0 });

          const script = path.join(d.dir, 'crash.sql');
          writeFileSync(script, scriptFor(p));
          const child: Run = await timed(`child coordinator to ${c.failpoint}`, () =>
            cli(['query', d.designFile, '-f', script], { DDBKIT_FAILPOINT: c.failpoint }),
          );
          expect({ code: child.code, stderr: child.stderr }).toEqual({
            code: FAILPOINT_EXIT,
            stderr: expect.stringContaining(`failpoint ${c.failpoint}`) as unknown as string,
          });
          expect(child.stdout + child.stderr).not.toContain(PASSWORD);

          // In doubt: prepared at every site with two-phase commit, under the logged gid.
          const log = txlogGids(d);
          const preparing = log.filter((r) => r.state === 'preparing');
          expect(preparing).toHaveLength(1);
          const gid = preparing[0]!.gid;
          expect(log.some((r) => r.gid === gid && r.state === 'commit')).toBe(c.failpoint === 'after-decision');
          expect(await pgPrepared(pg, d.databases.enit)).toEqual([`${gid}.0`]);
          expect(await xaPrepared(maria)).toEqual([`${gid}.1`]);
          if (c.fsegt === 'postgres') expect(await pgPrepared(pg, d.databases.fsegt)).toEqual([`${gid}.2`]);
          const inDoubt = await libraryState(d, c.fsegt, p);
          // Nothing prepared is visible yet; the last resource committed only after a decision.
          expect(inDoubt.newStudentBib.ENIT).toBe(0);
          expect(inDoubt.newStudentBib.FST).toBe(0);
          if (c.fsegt === 'postgres') expect(inDoubt.newStudentBib.FSEGT).toBe(0);
          else {
            const marker = sqliteRows(
              path.join(d.dir, 'sites', 'fsegt.db'),
              "SELECT name FROM sqlite_master WHERE name = 'ddbkit_decisions'",
            ).length
              ? sqliteRows(path.join(d.dir, 'sites', 'fsegt.db'), `SELECT gid FROM ddbkit_decisions WHERE gid = '${gid}'`)
              : [];
            expect({ fsegt: inDoubt.newStudentBib.FSEGT, marker: marker.length }).toEqual(
              c.failpoint === 'after-decision' ? { fsegt: 1, marker: 1 } : { fsegt: 0, marker: 0 },
            );
          }

          if (c.recoverBy === 'cli') {
            const r = await timed('ddbkit recover', () => cli(['recover', d.designFile, '--json']));
            expect(r.stdout + r.stderr).not.toContain(PASSWORD);
            expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
            const report = JSON.parse(r.stdout) as {
              actions: Array<{ site: string; gid: string; action: string }>;
              unreachable: unknown[];
            };
            expect(report.unreachable).toEqual([]);
            const sites = c.fsegt === 'postgres' ? ['ENIT', 'FSEGT', 'FST'] : ['ENIT', 'FST'];
            expect(report.actions.map((a) => [a.site, a.gid, a.action]).sort()).toEqual(sites.map((s) => [s, gid, outcome]));
            // Run again: nothing left.
            const again = await cli(['recover', d.designFile]);
            expect({ code: again.code, stdout: again.stdout }).toEqual({ code: 0, stdout: 'no transaction in doubt\n' });
          } else {
            const db = await timed('open (recovers)', () => open(d.designFile));
            expect((await db.recover()).actions).toEqual([]);
            // The database is usable: its reads see the outcome.
            const r = await db.execute(`SELECT count(*)::int AS n FROM student WHERE nce = ${p.newNce}`);
            expect(r.rows).toEqual([{ n: outcome === 'committed' ? 1 : 0 }]);
            await db.close();
          }

          expect(await pgPrepared(pg, d.databases.enit)).toEqual([]);
          expect(await pgPrepared(pg, d.databases.fsegt)).toEqual([]);
          expect(await xaPrepared(maria)).toEqual([]);
          const after = await libraryState(d, c.fsegt, p);
          const n = outcome === 'committed' ? 1 : 0;
          expect({
            newStudentBib: after.newStudentBib,
            newStudentFsegt: after.newStudentFsegt,
            newBookFst: after.newBookFst,
            borrowed: after.borrowed,
          }).toEqual({
            newStudentBib: { ENIT: n, FST: n, FSEGT: n },
            newStudentFsegt: n,
            newBookFst: n,
            borrowed: { ENIT: p.before + n, FST: p.before + n, FSEGT: p.before + n },
          });
          // The replicas of STUDENT_BIB are equal, and differ from before exactly by this transaction.
          expect(after.bib.FST).toEqual(after.bib.ENIT);
          expect(after.bib.FSEGT).toEqual(after.bib.ENIT);
          if (n === 0) expect(after.bib.ENIT).toEqual(before.bib.ENIT);
          else expect(after.bib.ENIT.length).toBe(before.bib.ENIT.length + 1);
        },
        300_000,
      );
    }
  });

  // ─── 2. A participant dies before PREPARE ──────────────────────────────────────────────────

  it('a MariaDB participant SIGKILLed before COMMIT: the commit fails naming FST, the PostgreSQL sites are rolled back, nothing prepared', async () => {
    const d = await timed('deploy library (FST on a MariaDB of its own)', () => deployed(pg, victimMaria, library));
    const p = await probeFor(d);
    const bibBefore = await pg.sql(d.databases.enit, `SELECT ${BIB.join(', ')} FROM student_bib`);
    const segBefore = await pg.sql(d.databases.fsegt, `SELECT ${BIB.join(', ')} FROM student_bib`);
    const pid = await victimMaria.pid();
    const db = await open(d.designFile);
    const tx = db.begin();
    await tx.query(
      `INSERT INTO student (nce, fname, lname, address, institution, class, nb_borrow) VALUES ($1, 'Mounir', 'Killed', NULL, 'FSEGT', 'M2', 0)`,
      [p.newNce],
    );
    await tx.query('UPDATE student SET nb_borrow = nb_borrow + 1 WHERE nce = $1', [p.nce]);
    await tx.query(
      `INSERT INTO book (id_book, title, editor, year, area, stock, website, site) VALUES ($1, 'Lost Connections', 'ddbkit', 2026, 'CS', 1, NULL, 'FST')`,
      [p.newBook],
    );
    expect([...tx.inner.writtenSites].sort()).toEqual(['ENIT', 'FSEGT', 'FST']);
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      await sleep(50);
    }
    const t0 = performance.now();
    const err = await tx.commit().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    timings.push(`commit with a dead participant failed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expect(err).toBeInstanceOf(Error);
    timings.push(`participant killed, the commit's error: ${err?.message}`);
    expect(err!.message).toMatch(/site FST \(mariadb\)/);
    expect(err!.message).toMatch(/rolled back/);
    expect(err!.message).not.toContain(PASSWORD);
    expect(isRetryable(err)).toBe(false);
    expect(tx.inner.state).toBe('rolled back');
    // Directly on the PostgreSQL sites: nothing of the transaction, nothing prepared.
    expect(await pgPrepared(pg, d.databases.enit)).toEqual([]);
    expect(await pgPrepared(pg, d.databases.fsegt)).toEqual([]);
    expect(canonical(await pg.sql(d.databases.enit, `SELECT ${BIB.join(', ')} FROM student_bib`), BIB)).toEqual(
      canonical(bibBefore, BIB),
    );
    expect(canonical(await pg.sql(d.databases.fsegt, `SELECT ${BIB.join(', ')} FROM student_bib`), BIB)).toEqual(
      canonical(segBefore, BIB),
    );
    expect(await pg.sql(d.databases.fsegt, `SELECT nce FROM student_fsegt WHERE nce = ${p.newNce}`)).toEqual([]);
    // Recovery knows FST is down and has nothing to finish elsewhere.
    const report = await db.recover();
    expect(report.actions).toEqual([]);
    expect(report.unreachable.map((u) => u.site)).toEqual(['FST']);
  }, 300_000);

  // ─── 3. A replica unreachable under sync replication ───────────────────────────────────────

  it('a STUDENT_BIB replica unreachable: the UPDATE fails naming FSEGT, no replica changed', async () => {
    const id = `replica_${process.pid}`;
    await Promise.all([
      pg.createDatabase(`${id}_enit`),
      maria.createDatabase(`${id}_fst`),
      replicaPg.createDatabase(`${id}_fsegt`),
    ]);
    const dir = path.join(tmp, 'replica');
    const designFile = writeVariant(
      dir,
      'library',
      {
        ENIT: { engine: 'postgres', url: pg.url(`${id}_enit`), decision: true },
        FST: { engine: 'mariadb', url: maria.designUrl(`${id}_fst`, MARIA_PW_VAR) },
        FSEGT: { engine: 'postgres', url: replicaPg.url(`${id}_fsegt`) },
      },
      (_, s) => s,
    );
    await timed('deploy library (FSEGT on a PostgreSQL of its own)', async () =>
      deploy(await loadDesign(designFile), library, { verify: false }),
    );
    const db = await open(designFile);
    // Warm the pools (a session already open at FSEGT when it goes away), then stop FSEGT.
    await db.execute('SELECT count(*) FROM student');
    const [s] = await pg.sql<{ nce: number; nb_borrow: number }>(
      `${id}_enit`,
      'SELECT nce, nb_borrow FROM student_bib WHERE nb_borrow < 5 ORDER BY nce LIMIT 1',
    );
    const bibSql = `SELECT ${BIB.join(', ')} FROM student_bib`;
    const before = {
      ENIT: canonical(await pg.sql(`${id}_enit`, bibSql), BIB),
      FST: canonical(await maria.sql(`${id}_fst`, bibSql), BIB),
    };
    expect(before.FST).toEqual(before.ENIT);
    await replicaPg.server.stop();

    for (const attempt of ['autocommit', 'transaction'] as const) {
      const err =
        attempt === 'autocommit'
          ? await db.execute('UPDATE student SET nb_borrow = nb_borrow + 1 WHERE nce = $1', [s!.nce]).then(
              () => undefined,
              (e: unknown) => e as Error,
            )
          : await db
              .transaction(async (tx) => {
                await tx.query('UPDATE student SET nb_borrow = nb_borrow + 1 WHERE nce = $1', [s!.nce]);
              })
              .then(
                () => undefined,
                (e: unknown) => e as Error,
              );
      expect(err, attempt).toBeInstanceOf(Error);
      timings.push(`replica down (${attempt}), the error: ${err?.message}`);
      expect(err!.message, attempt).toMatch(/site FSEGT \(postgres\)/);
      expect(err!.message).not.toContain(PASSWORD);
      expect(canonical(await pg.sql(`${id}_enit`, bibSql), BIB), attempt).toEqual(before.ENIT);
      expect(canonical(await maria.sql(`${id}_fst`, bibSql), BIB), attempt).toEqual(before.FST);
      expect(await pgPrepared(pg, `${id}_enit`)).toEqual([]);
      expect(await xaPrepared(maria)).toEqual([]);
    }
    const [row] = await pg.sql<{ nb_borrow: number }>(`${id}_enit`, `SELECT nb_borrow FROM student_bib WHERE nce = ${s!.nce}`);
    expect(row!.nb_borrow).toBe(s!.nb_borrow);
  }, 300_000);

  // ─── 4. Bank transfers ─────────────────────────────────────────────────────────────────────

  const ACCOUNTS = 16;
  const branchOf = (i: number) => (i <= ACCOUNTS / 2 ? 'A' : 'B');

  interface Bank {
    designFile: string;
    /** Databases of branch A (PostgreSQL) and B (MariaDB). */
    dbA: string;
    dbB: string;
    initial: Map<number, bigint>;
  }

  let banks = 0;
  /** ACCOUNT_A (branch 'A') on PostgreSQL, ACCOUNT_B (branch 'B') on MariaDB, from a .sql source. */
  async function deployBank(): Promise<Bank> {
    const id = `bank_${process.pid}_${++banks}`;
    const dir = path.join(tmp, id);
    mkdirSync(dir, { recursive: true });
    await Promise.all([pg.createDatabase(`${id}_a`), maria.createDatabase(`${id}_b`)]);
    const initial = new Map<number, bigint>();
    for (let i = 1; i <= ACCOUNTS; i++) initial.set(i, 20_000n + BigInt(i) * 3_753n + BigInt((i * 37) % 100));
    writeFileSync(
      path.join(dir, 'bank.sql'),
      [
        'CREATE TABLE account (',
        '  id int PRIMARY KEY,',
        "  branch text NOT NULL CHECK (branch IN ('A', 'B')),",
        '  balance numeric(12,2) NOT NULL CHECK (balance >= 0)',
        ');',
        `INSERT INTO account (id, branch, balance) VALUES`,
        [...initial].map(([i, c]) => `  (${i}, '${branchOf(i)}', ${showCents(c)})`).join(',\n') + ';',
        '',
      ].join('\n'),
    );
    const designFile = path.join(dir, 'design.yaml');
    writeFileSync(
      designFile,
      [
        `name: ${id.replace(/_/g, '-')}`,
        'source: ./bank.sql',
        'sites:',
        `  A: { engine: postgres, url: "${pg.url(`${id}_a`)}", decision: true }`,
        `  B: { engine: mariadb, url: "${maria.designUrl(`${id}_b`, MARIA_PW_VAR)}" }`,
        'fragments:',
        '  - name: ACCOUNT_A',
        '    of: ACCOUNT',
        `    where: "branch = 'A'"`,
        '    sites: [A]',
        '  - name: ACCOUNT_B',
        '    of: ACCOUNT',
        `    where: "branch = 'B'"`,
        '    sites: [B]',
        '',
      ].join('\n'),
    );
    const source = await openSource(path.join(dir, 'bank.sql'), dir);
    try {
      await timed('deploy bank', async () => deploy(await loadDesign(designFile), source, { verify: false }));
    } finally {
      await source.close();
    }
    return { designFile, dbA: `${id}_a`, dbB: `${id}_b`, initial };
  }

  /**
   * Moves `amount` cents, locking both accounts (in id order, or the payer first — which lets two
   * transfers wait on each other across sites); refuses an overdraft.
   */
  async function transfer(
    db: DistributedDatabase,
    from: number,
    to: number,
    amount: bigint,
    lockOrder: 'id' | 'payer first' = 'id',
  ): Promise<'done' | 'refused'> {
    const [lo, hi] = lockOrder === 'payer first' || from < to ? [from, to] : [to, from];
    return db.transaction(async (tx) => {
      const a = await tx.query('SELECT id, balance FROM account WHERE id = $1 FOR UPDATE', [lo]);
      const b = await tx.query('SELECT id, balance FROM account WHERE id = $1 FOR UPDATE', [hi]);
      if (a.rows.length !== 1 || b.rows.length !== 1) throw new Error(`accounts ${lo}, ${hi}: ${a.rowCount}, ${b.rowCount} rows`);
      const balance = cents((from === lo ? a : b).rows[0]!['balance']);
      if (balance < amount) return 'refused';
      const literal = Number(amount) / 100; // prints as an exact decimal literal: at most two places
      await tx.query('UPDATE account SET balance = balance - $1 WHERE id = $2', [literal, from]);
      await tx.query('UPDATE account SET balance = balance + $1 WHERE id = $2', [literal, to]);
      return 'done';
    });
  }

  interface TransferRun {
    done: number;
    refused: number;
    crossSite: number;
    retries: number;
    /** What was retried: message shapes (ids and numbers blanked) and how often. */
    retried: Map<string, number>;
    failures: string[];
    /** Each account's balance as the committed transfers say. */
    expected: Map<number, bigint>;
    seconds: number;
  }

  async function runTransfers(
    db: DistributedDatabase,
    bank: Bank,
    workers: number,
    transfers: number,
    options: { lockOrder?: 'id' | 'payer first'; accounts?: number[] } = {},
  ): Promise<TransferRun> {
    const accounts = options.accounts ?? Array.from({ length: ACCOUNTS }, (_, i) => i + 1);
    const out: TransferRun = {
      done: 0,
      refused: 0,
      crossSite: 0,
      retries: 0,
      retried: new Map(),
      failures: [],
      expected: new Map(bank.initial),
      seconds: 0,
    };
    // A fixed pseudo-random sequence per worker, so that a failure can be replayed.
    const rng = (seed: number) => () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: workers }, async (_, w) => {
        const next = rng(w + 1);
        for (let k = 0; k < transfers; k++) {
          const from = accounts[Math.floor(next() * accounts.length)]!;
          // Mostly across sites (A ↔ B), sometimes within a branch.
          const cross = next() < 0.8;
          let to: number;
          do to = accounts[Math.floor(next() * accounts.length)]!;
          while (to === from || (branchOf(to) !== branchOf(from)) !== cross);
          const amount = 1n + BigInt(Math.floor(next() * 25_000)); // up to 250.00
          for (let attempt = 1; ; attempt++) {
            try {
              const r = await transfer(db, from, to, amount, options.lockOrder);
              if (r === 'done') {
                out.done++;
                if (cross) out.crossSite++;
                out.expected.set(from, out.expected.get(from)! - amount);
                out.expected.set(to, out.expected.get(to)! + amount);
              } else out.refused++;
              break;
            } catch (e) {
              if (isRetryable(e) && attempt < 30) {
                out.retries++;
                const shape = (e as Error).message
                  .replace(/\bddbkit_[0-9a-f]+_[0-9a-f.]+/g, 'GID')
                  .replace(/\d+/g, 'N')
                  .slice(0, 160);
                out.retried.set(shape, (out.retried.get(shape) ?? 0) + 1);
                await sleep(Math.min(1000, 10 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random()));
                continue;
              }
              out.failures.push(
                `worker ${w} transfer ${k} (${from} → ${to}, ${showCents(amount)}), attempt ${attempt}: ${(e as Error).message}`,
              );
              break;
            }
          }
        }
      }),
    );
    out.seconds = (performance.now() - t0) / 1000;
    return out;
  }

  /** Every balance, read directly on each site, and their total. */
  async function bankMoney(bank: Bank): Promise<{ balances: Map<number, bigint>; total: bigint }> {
    const a = await pg.sql<{ id: number; balance: string }>(bank.dbA, 'SELECT id, balance::text AS balance FROM account_a');
    const b = await maria.sql<{ id: number; balance: string }>(
      bank.dbB,
      'SELECT id, CAST(balance AS CHAR) AS balance FROM account_b',
    );
    const balances = new Map<number, bigint>([...a, ...b].map((r) => [Number(r.id), cents(r.balance)]));
    return { balances, total: [...balances.values()].reduce((x, y) => x + y, 0n) };
  }

  /** Balances read directly on each site; every check of the bank's invariants. */
  async function checkBank(db: DistributedDatabase, bank: Bank, expected: Map<number, bigint>): Promise<void> {
    const { balances: actual, total } = await bankMoney(bank);
    expect(actual.size).toBe(ACCOUNTS);
    for (const [i, c] of actual) expect(c, `account ${i}`).toBeGreaterThanOrEqual(0n);
    const initialTotal = [...bank.initial.values()].reduce((x, y) => x + y, 0n);
    expect(showCents(total)).toBe(showCents(initialTotal));
    // Exactly the committed transfers, account by account.
    expect(new Map([...actual].map(([i, c]) => [i, showCents(c)]))).toEqual(
      new Map([...expected].map(([i, c]) => [i, showCents(c)])),
    );
    // The same through ddbkit, as an exact decimal.
    const viaDdb = await db.execute('SELECT sum(balance) AS total, min(balance) AS low FROM account');
    expect(String(viaDdb.rows[0]!['total'])).toBe(showCents(initialTotal));
    expect(cents(viaDdb.rows[0]!['low'])).toBeGreaterThanOrEqual(0n);
    // Nothing left in doubt.
    expect(await pgPrepared(pg, bank.dbA)).toEqual([]);
    expect(await xaPrepared(maria)).toEqual([]);
  }

  it('concurrent transfers between a PostgreSQL and a MariaDB branch keep the total balance exact', async () => {
    const bank = await deployBank();
    const db = await open(bank.designFile, { lockTimeoutMs: 2000, maxSessions: 12 });
    const r = await runTransfers(db, bank, 8, 25);
    const summary = `bank: 8×25 transfers in ${r.seconds.toFixed(1)} s — ${r.done} done (${r.crossSite} across sites), ${r.refused} refused (overdraft), ${r.retries} retries, ${r.failures.length} failed`;
    console.log(summary);
    timings.push(summary);
    expect(r.failures).toEqual([]);
    expect(r.done + r.refused).toBe(8 * 25);
    expect(r.crossSite).toBeGreaterThan(100);
    await checkBank(db, bank, r.expected);
    expect((await db.recover()).actions).toEqual([]);
  }, 600_000);

  it('transfers locking the payer first: waits across sites end by lock timeout, are retried, and the total stays exact', async () => {
    const bank = await deployBank();
    const db = await open(bank.designFile, { lockTimeoutMs: 1000, maxSessions: 12 });
    // Two accounts per branch, six workers: transfers A→B and B→A on the same accounts meet head-on.
    const r = await runTransfers(db, bank, 6, 10, { lockOrder: 'payer first', accounts: [1, 2, ACCOUNTS - 1, ACCOUNTS] });
    const summary = `bank, payer locked first: 6×10 transfers in ${r.seconds.toFixed(1)} s — ${r.done} done (${r.crossSite} across sites), ${r.refused} refused, ${r.retries} retries (${[...r.retried].map(([m, n]) => `${n}× ${m}`).join('; ')}), ${r.failures.length} failed`;
    console.log(summary);
    timings.push(summary);
    expect(r.failures).toEqual([]);
    expect(r.done + r.refused).toBe(6 * 10);
    expect(r.retries).toBeGreaterThan(0);
    await checkBank(db, bank, r.expected);
  }, 600_000);

  it('one session per site: transfers crossing the sites in opposite directions take turns, none waits out the pool', async () => {
    // Each transfer holds its session at one branch while it asks for the other: without a limit on
    // open transactions, A→B would hold A's only session and wait for B's while B→A holds B's.
    const bank = await deployBank();
    const db = await open(bank.designFile, { lockTimeoutMs: 2000, maxSessions: 1 });
    // Read once, every account is then looked up at its own branch only: each transfer locks the
    // payer at one site, then asks for the other.
    expect((await db.query('SELECT id, balance FROM account')).rows).toHaveLength(ACCOUNTS);
    const expected = new Map(bank.initial);
    for (let round = 0; round < 4; round++) {
      const a = 1 + round;
      const b = ACCOUNTS - round;
      const results = await Promise.all([transfer(db, a, b, 100n, 'payer first'), transfer(db, b, a, 300n, 'payer first')]);
      expect(results).toEqual(['done', 'done']);
      expected.set(a, expected.get(a)! - 100n + 300n);
      expected.set(b, expected.get(b)! + 100n - 300n);
    }
    await checkBank(db, bank, expected);
  }, 120_000);

  // ─── Recovery beside live coordinators ─────────────────────────────────────────────────────

  it('db.recover() while transfers run in the same process leaves the live transactions alone', async () => {
    const bank = await deployBank();
    const db = await open(bank.designFile, { lockTimeoutMs: 2000, maxSessions: 12 });
    let running = true;
    let recoveries = 0;
    const actions: string[] = [];
    const recoverer = (async () => {
      while (running) {
        const report = await db.recover();
        recoveries++;
        for (const a of report.actions) actions.push(`${a.action} ${a.gid} at ${a.site}: ${a.reason}`);
        await sleep(5);
      }
    })();
    let r: TransferRun;
    try {
      r = await runTransfers(db, bank, 6, 15);
    } finally {
      running = false;
      await recoverer;
    }
    const summary = `bank with a concurrent recover loop: ${r.done} done, ${r.refused} refused, ${r.retries} retries, ${r.failures.length} failed, ${recoveries} recoveries, ${actions.length} recovery actions`;
    console.log(summary);
    timings.push(summary);
    // Leaving a live transaction alone (and saying so) is right; finishing it is not.
    const touched = actions.filter((a) => !a.startsWith('left'));
    const money = await bankMoney(bank);
    const expectedTotal = [...bank.initial.values()].reduce((x, y) => x + y, 0n);
    const mismatched = [...r.expected].filter(([i, c]) => money.balances.get(i) !== c).map(([i]) => i);
    expect({ total: showCents(money.total), mismatched, touched: touched.slice(0, 5), failures: r.failures.slice(0, 5) }).toEqual(
      {
        total: showCents(expectedTotal),
        mismatched: [],
        touched: [],
        failures: [],
      },
    );
    await checkBank(db, bank, r.expected);
  }, 600_000);

  it('`ddbkit recover` in another process beside a live coordinator: a decision logged afterwards still reaches the log, and a site left unfinished is committed', async () => {
    const bank = await deployBank();
    const db = await open(bank.designFile);
    const logDir = db.decisionLog.dir;
    // Every coordinator process appends to a file of its own in the log's folder.
    const logText = () =>
      readdirSync(logDir)
        .map((n) => readFileSync(path.join(logDir, n), 'utf8'))
        .join('');
    // A first cross-site transfer: the coordinator's log is open and holds records.
    expect(await transfer(db, 1, ACCOUNTS, 100n)).toBe('done');
    expect(existsSync(logDir) && logText().length > 0).toBe(true);
    // Another process recovers (nothing in doubt) while this coordinator keeps running.
    const rec = await cli(['recover', bank.designFile]);
    expect({ code: rec.code, stdout: rec.stdout }).toEqual({ code: 0, stdout: 'no transaction in doubt\n' });
    // The next cross-site transfer: B is unreachable when the decision is sent (COMMIT of the
    // prepared XA transaction fails once), so B is left to recovery, which must commit it.
    let failNext = true;
    const poolB = db.pool('B');
    const acquire = poolB.acquire.bind(poolB);
    poolB.acquire = async () => {
      const c = await acquire();
      const commitPrepared = c.commitPrepared.bind(c);
      c.commitPrepared = async (gid: string) => {
        if (failNext) {
          failNext = false;
          throw new Error('injected: site B unreachable when the decision is sent');
        }
        return commitPrepared(gid);
      };
      return c;
    };
    const tx = db.begin();
    await tx.query('UPDATE account SET balance = balance - 1.25 WHERE id = 2');
    await tx.query(`UPDATE account SET balance = balance + 1.25 WHERE id = ${ACCOUNTS - 1}`);
    expect([...tx.inner.writtenSites].sort()).toEqual(['A', 'B']);
    await tx.commit();
    expect(tx.inner.unfinished).toEqual(['B']);
    expect(await xaPrepared(maria)).toEqual([`${tx.gid}.1`]);
    await db.close();
    const states = logText()
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { gid: string; state: string })
      .filter((r) => r.gid === tx.gid)
      .map((r) => r.state);
    // Recovery (another process) finishes B as the log says.
    const after = await cli(['recover', bank.designFile, '--json']);
    const report = JSON.parse(after.stdout) as { actions: Array<{ site: string; action: string; reason: string }> };
    const money = await bankMoney(bank);
    const expected = new Map(bank.initial);
    const move = (from: number, to: number, c: bigint) => {
      expected.set(from, expected.get(from)! - c);
      expected.set(to, expected.get(to)! + c);
    };
    move(1, ACCOUNTS, 100n);
    move(2, ACCOUNTS - 1, 125n);
    const mismatched = [...expected].filter(([i, c]) => money.balances.get(i) !== c).map(([i]) => i);
    expect({
      logged: states.includes('commit'),
      recovery: report.actions.map((a) => `${a.site}: ${a.action} (${a.reason})`),
      mismatched,
    }).toEqual({
      logged: true,
      recovery: ['B: committed (the log holds the commit decision)'],
      mismatched: [],
    });
    expect(await xaPrepared(maria)).toEqual([]);
  }, 300_000);

  it('two deployments of one design sharing a MariaDB server: recovering one leaves the other’s in-doubt transaction alone', async () => {
    const x = await timed('deploy library (x)', () => deployed(pg, maria, library));
    const y = await timed('deploy library (y, same servers)', () => deployed(pg, maria, library));
    const p = await probeFor(x);
    const script = path.join(x.dir, 'crash.sql');
    writeFileSync(script, scriptFor(p));
    const child = await cli(['query', x.designFile, '-f', script], { DDBKIT_FAILPOINT: 'after-decision' });
    expect(child.code).toBe(FAILPOINT_EXIT);
    const gid = txlogGids(x).find((r) => r.state === 'commit')!.gid;
    expect(await xaPrepared(maria)).toEqual([`${gid}.1`]);
    // y has nothing in doubt: its recovery must not touch x's transaction.
    const ry = await cli(['recover', y.designFile, '--json']);
    const yReport = JSON.parse(ry.stdout) as { actions: unknown[] };
    const xaAfterY = await xaPrepared(maria);
    // x's recovery then finishes it: committed everywhere.
    const rx = await cli(['recover', x.designFile]);
    expect(rx.code).toBe(0);
    const after = await libraryState(x, 'postgres', p);
    expect({ yActions: yReport.actions, xaAfterY }).toEqual({ yActions: [], xaAfterY: [`${gid}.1`] });
    expect(after.newStudentBib).toEqual({ ENIT: 1, FST: 1, FSEGT: 1 });
    expect(after.newBookFst).toBe(1);
  }, 300_000);
});
