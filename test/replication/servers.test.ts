/**
 * Asynchronous replication with real servers (issue 5, section 3): a MariaDB primary whose changes
 * (captured by triggers) `ddbkit sync` applies to PostgreSQL, SQLite and DuckDB replicas; a
 * PostgreSQL primary followed by PostgreSQL replicas through logical replication (one on another
 * server, one on the same server) and by a SQLite replica through its outbox. Driven through the
 * CLI as a user would; passwords (given as ${VAR}) never appear in outputs or scripts.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Design } from '../../src/design/load.js';
import { resolveDesign } from '../../src/design/resolve.js';
import { openSites } from '../../src/deploy/sites.js';
import type { SiteConnector } from '../../src/engines/connector.js';
import { openSource } from '../../src/engines/source.js';
import { primarySite } from '../../src/replication/index.js';
import {
  type MariaHandle,
  type PgHandle,
  cli,
  run as exec,
  ensureBuilt,
  serversUnavailableReason,
  startMaria,
  startPg,
} from '../deploy/support.js';
import { AWKWARD, PRIMARY_CHANGES, fragmentRows, primaryWrites, withSite, writeDesign } from './support.js';

const unavailable = serversUnavailableReason();
if (unavailable)
  console.warn(`\n*** SKIPPING async replication tests against real PostgreSQL/MariaDB servers: ${unavailable} ***\n`);

const PASSWORD = `Rp4${Math.random().toString(36).slice(2, 10)}Zx8`;
const ENV = { DDBKIT_TEST_ASYNC_PW: PASSWORD };

interface Status {
  replicas: Array<{
    fragment: string;
    inStep: boolean;
    behind?: boolean;
    detail: string;
    lag?: Array<{
      replica: string;
      mechanism: string;
      changes: number | null;
      seconds: number | null;
      bytes?: number;
      state?: string;
    }>;
  }>;
}

describe.skipIf(unavailable !== undefined)('async replication with real PostgreSQL and MariaDB servers', () => {
  let tmp: string;
  let pg1: PgHandle;
  let pg2: PgHandle;
  let maria: MariaHandle;
  const outputs: string[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ddbkit-async-srv-'));
    process.env.DDBKIT_TEST_ASYNC_PW = PASSWORD;
    const all = [startPg(), startPg(), startMaria(PASSWORD), ensureBuilt()] as const;
    const settled = await Promise.allSettled(all);
    const ok = settled.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
    [pg1, pg2, maria] = [ok[0] as PgHandle, ok[1] as PgHandle, ok[2] as MariaHandle];
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
  });

  afterAll(async () => {
    for (const s of [pg1, pg2, maria]) await s?.server.stop().catch(() => {});
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    delete process.env.DDBKIT_TEST_ASYNC_PW;
    for (const o of outputs) expect(o).not.toContain(PASSWORD);
  });

  async function run(args: string[]) {
    const r = await cli(args, ENV);
    outputs.push(r.stdout, r.stderr);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    return r;
  }

  async function status(file: string): Promise<{ code: number; status: Status }> {
    const r = await run(['status', file, '--json']);
    expect(r.stderr).toBe('');
    return { code: r.code, status: JSON.parse(r.stdout) as Status };
  }

  async function replicasEqualPrimary(
    design: Design,
    only?: string[],
  ): Promise<Array<{ fragment: string; site: string; same: boolean; rows: number }>> {
    const source = await openSource(design.source, design.dir);
    const resolved = resolveDesign(design, source.catalog);
    await source.close();
    const connectors = await openSites(resolved, design.dir);
    const out: Array<{ fragment: string; site: string; same: boolean; rows: number }> = [];
    try {
      for (const f of resolved.fragments) {
        const cols = f.relation.columns.filter((c) => f.columns.includes(c.name));
        const read = (c: SiteConnector) =>
          fragmentRows(
            c,
            f.name.toLowerCase(),
            cols.map((x) => x.type),
            cols.map((x) => x.name),
          );
        const primary = await read(connectors.get(primarySite(f).name)!);
        for (const s of f.sites.slice(1)) {
          if (only && !only.includes(s.name)) continue;
          const rows = await read(connectors.get(s.name)!);
          out.push({ fragment: f.name, site: s.name, same: JSON.stringify(rows) === JSON.stringify(primary), rows: rows.length });
        }
      }
    } finally {
      await Promise.all([...connectors.values()].map((c) => c.close()));
    }
    return out;
  }

  describe('MariaDB primary → PostgreSQL, SQLite and DuckDB replicas (outbox)', () => {
    let design: Design;

    beforeAll(async () => {
      await Promise.all([maria.createDatabase('amaria'), pg1.createDatabase('amaria')]);
      design = await writeDesign(
        path.join(tmp, 'maria'),
        {
          MAR: { engine: 'mariadb', url: maria.designUrl('amaria', 'DDBKIT_TEST_ASYNC_PW') },
          PG: { engine: 'postgres', url: pg1.url('amaria'), decision: true },
          LITE: { engine: 'sqlite', url: 'file:./sites/lite.db' },
          DUCK: { engine: 'duckdb', url: 'file:./sites/duck.duckdb' },
        },
        ['MAR', 'PG', 'LITE', 'DUCK'],
      );
    });

    it('deploy → writes at the primary → status shows lag → sync applies → replicas equal the primary → nothing more to apply', async () => {
      const d = await run(['deploy', design.file]);
      expect(d.stderr).toBe('');
      expect(d.code).toBe(0);
      expect(
        await maria.sql<{ n: number }>(
          'amaria',
          "SELECT count(*) AS n FROM information_schema.triggers WHERE trigger_schema = 'amaria'",
        ),
      ).toEqual([{ n: 6 }]);

      await withSite(design, 'MAR', async (c) => {
        for (const sql of primaryWrites('mariadb')) await c.execute(sql);
      });
      const before = await status(design.file);
      expect(before.code).toBe(0); // behind is not out of step
      const item = before.status.replicas.find((r) => r.fragment === 'ITEM_ALL')!;
      expect(item.behind).toBe(true);
      expect(item.lag!.map((l) => [l.replica, l.mechanism, l.changes])).toEqual([
        ['PG', 'outbox', 6],
        ['LITE', 'outbox', 6],
        ['DUCK', 'outbox', 6],
      ]);
      for (const l of item.lag!) expect(l.seconds).toBeGreaterThanOrEqual(0);
      const text = await run(['status', design.file]);
      expect(text.stdout).toMatch(/PG ← MAR \(outbox, applied by ddbkit sync\): lag 6 changes, the oldest \d+\.\d s old/);

      const s1 = await run(['sync', design.file]);
      expect(s1.stderr).toBe('');
      expect(s1.code).toBe(0);
      for (const r of ['PG', 'LITE', 'DUCK'])
        expect(s1.stdout).toMatch(new RegExp(`${r} ← MAR\\s+ITEM_ALL, PAIR_ALL: ${PRIMARY_CHANGES} changes applied`));
      expect((await replicasEqualPrimary(design)).filter((x) => !x.same)).toEqual([]);
      const [row] = await pg1.sql<{ note: string; qty: string; ratio: number }>(
        'amaria',
        'SELECT note, qty::text AS qty, ratio FROM item_all WHERE id = 100',
      );
      expect(row).toEqual({ note: AWKWARD, qty: '9007199254740995', ratio: 1.0000000000000002 });

      const s2 = await run(['sync', design.file, '--json']);
      expect(s2.code).toBe(0);
      expect((JSON.parse(s2.stdout) as { pairs: Array<{ changes: number }> }).pairs.map((p) => p.changes)).toEqual([0, 0, 0]);
      const after = await status(design.file);
      expect(after.code).toBe(0);
      expect(after.status.replicas.map((r) => [r.fragment, r.inStep, r.lag!.map((l) => l.changes)])).toEqual([
        ['ITEM_ALL', true, [0, 0, 0]],
        ['PAIR_ALL', true, [0, 0, 0]],
      ]);
      // The outbox was emptied of what every replica applied.
      expect(await maria.sql<{ n: number }>('amaria', 'SELECT count(*) AS n FROM ddbkit_outbox')).toEqual([{ n: 0 }]);
    }, 240_000);

    it("the scripts run in the engines' own clients: MariaDB triggers (DELIMITER) capture, PostgreSQL records applied seqs", async () => {
      const out = path.join(tmp, 'maria-scripts');
      const r = await run(['scripts', design.file, '--out', out]);
      expect(r.code).toBe(0);
      await Promise.all([maria.createDatabase('amaria_script'), pg1.createDatabase('amaria_script')]);
      const mar = readFileSync(path.join(out, 'MAR_DDB_SCRIPT.sql'), 'utf8');
      outputs.push(mar);
      const m = await exec('mariadb', ['-h', '127.0.0.1', '-P', String(maria.port), '-u', 'root', 'amaria_script'], {
        input: mar,
      });
      expect({ code: m.code, stderr: m.stderr }).toEqual({ code: 0, stderr: '' });
      await maria.sql('amaria_script', "INSERT INTO item_all (id, code, note) VALUES (1, 'x', 'é')");
      expect(await maria.sql('amaria_script', 'SELECT seq, fragment, op, key_json FROM ddbkit_outbox')).toEqual([
        { seq: 1, fragment: 'ITEM_ALL', op: 'I', key_json: '{"id": "1"}' },
      ]);
      const pgScript = path.join(out, 'PG_DDB_SCRIPT.sql');
      const p = await exec('psql', [
        '-X',
        '-q',
        '-v',
        'ON_ERROR_STOP=1',
        '-h',
        '127.0.0.1',
        '-p',
        String(pg1.port),
        '-U',
        'postgres',
        '-d',
        'amaria_script',
        '-f',
        pgScript,
      ]);
      expect({ code: p.code, stderr: p.stderr }).toEqual({ code: 0, stderr: '' });
      expect(await pg1.sql('amaria_script', 'SELECT fragment, primary_site, seq FROM ddbkit_applied ORDER BY 1')).toEqual([
        { fragment: 'ITEM_ALL', primary_site: 'MAR', seq: '0' },
        { fragment: 'PAIR_ALL', primary_site: 'MAR', seq: '0' },
      ]);
    }, 240_000);

    it('sync --follow applies new changes as they come, until interrupted', async () => {
      const { spawn } = await import('node:child_process');
      const { bin } = await import('../deploy/support.js');
      const env: NodeJS.ProcessEnv = { ...process.env, ...ENV, NO_COLOR: '1' };
      const child = spawn(process.execPath, [bin, 'sync', design.file, '--follow', '--interval', '200'], { env });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      try {
        await maria.sql('amaria', "INSERT INTO item_all (id, code) VALUES (7000, 'followed')");
        const deadline = Date.now() + 30_000;
        while (!/1 change applied/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        expect(out).toMatch(/PG ← MAR\s+ITEM_ALL, PAIR_ALL: 1 change applied/);
      } finally {
        child.kill('SIGINT');
        await new Promise((r) => child.once('exit', r));
      }
      outputs.push(out);
      expect(out).toMatch(/Stopped; 3 changes applied while following/);
      expect(child.exitCode).toBe(0);
      expect(await pg1.sql('amaria', 'SELECT code FROM item_all WHERE id = 7000')).toEqual([{ code: 'followed' }]);
    }, 240_000);
  });

  describe('PostgreSQL primary → PostgreSQL replicas (logical replication) and a SQLite replica (outbox)', () => {
    let design: Design;

    beforeAll(async () => {
      await Promise.all([pg1.createDatabase('apg'), pg1.createDatabase('apg_near'), pg2.createDatabase('apg')]);
      const withPw = (h: PgHandle, db: string) => `postgres://postgres:\${DDBKIT_TEST_ASYNC_PW}@127.0.0.1:${h.port}/${db}`;
      design = await writeDesign(
        path.join(tmp, 'pg'),
        {
          P: { engine: 'postgres', url: withPw(pg1, 'apg'), decision: true },
          FAR: { engine: 'postgres', url: withPw(pg2, 'apg') },
          NEAR: { engine: 'postgres', url: withPw(pg1, 'apg_near') },
          LITE: { engine: 'sqlite', url: 'file:./sites/lite.db' },
        },
        ['P', 'FAR', 'NEAR', 'LITE'],
      );
    });

    async function waitForLogical(): Promise<void> {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const eq = await replicasEqualPrimary(design, ['FAR', 'NEAR']);
        if (eq.every((x) => x.same)) return;
        if (Date.now() > deadline) expect(eq).toEqual(eq.map((x) => ({ ...x, same: true })));
        await new Promise((r) => setTimeout(r, 250));
      }
    }

    it('deploy subscribes the PostgreSQL replicas; the password lives only in their catalogs', async () => {
      const d = await run(['deploy', design.file]);
      expect(d.stderr).toBe('');
      expect(d.code).toBe(0);
      const far = await pg2.sql<{ subname: string; subconninfo: string; subenabled: boolean }>(
        'apg',
        'SELECT subname, subconninfo, subenabled FROM pg_subscription',
      );
      expect(far.map((s) => [s.subname, s.subenabled])).toEqual([['ddbkit_from_p', true]]);
      expect(far[0]!.subconninfo).toContain(PASSWORD);
      const pubs = await pg1.sql<{ pubname: string; t: string }>(
        'apg',
        "SELECT pubname, string_agg(tablename, ',' ORDER BY tablename) AS t FROM pg_publication_tables GROUP BY 1 ORDER BY 1",
      );
      expect(pubs).toEqual([
        { pubname: 'ddbkit_to_far', t: 'item_all,pair_all' },
        { pubname: 'ddbkit_to_near', t: 'item_all,pair_all' },
      ]);
      // Scripts carry a placeholder, never the password.
      const out = path.join(tmp, 'pg-scripts');
      const s = await run(['scripts', design.file, '--out', out]);
      expect(s.code).toBe(0);
      const far_ = readFileSync(path.join(out, 'FAR_DDB_SCRIPT.sql'), 'utf8');
      expect(far_).toMatch(/CREATE SUBSCRIPTION "ddbkit_from_p" CONNECTION '.*password=''__P_PASSWORD__''/);
      expect(readFileSync(path.join(out, 'P_DDB_SCRIPT.sql'), 'utf8')).toMatch(
        /CREATE PUBLICATION "ddbkit_to_far" FOR TABLE "item_all", "pair_all";/,
      );
      for (const f of readdirSync(out)) outputs.push(readFileSync(path.join(out, f), 'utf8'));
    }, 240_000);

    it('writes at the primary reach the PostgreSQL replicas by themselves and the SQLite replica by sync', async () => {
      await withSite(design, 'P', async (c) => {
        for (const sql of primaryWrites('postgres')) await c.execute(sql);
      });
      await waitForLogical();
      const lagged = await status(design.file);
      const item = lagged.status.replicas.find((r) => r.fragment === 'ITEM_ALL')!;
      expect(item.lag!.map((l) => [l.replica, l.mechanism])).toEqual([
        ['FAR', 'logical'],
        ['NEAR', 'logical'],
        ['LITE', 'outbox'],
      ]);
      expect(item.lag!.find((l) => l.replica === 'LITE')!.changes).toBe(6);
      expect(item.behind).toBe(true);
      for (const l of item.lag!.filter((x) => x.mechanism === 'logical')) {
        expect(l.state).toBe('streaming');
        expect(typeof l.bytes).toBe('number');
      }
      const s = await run(['sync', design.file]);
      expect(s.code).toBe(0);
      expect(s.stdout).toMatch(new RegExp(`LITE ← P\\s+ITEM_ALL, PAIR_ALL: ${PRIMARY_CHANGES} changes applied`));
      expect(s.stdout).toMatch(/FAR ← P\s+ITEM_ALL, PAIR_ALL: PostgreSQL logical replication/);
      expect((await replicasEqualPrimary(design)).filter((x) => !x.same)).toEqual([]);
      const after = await status(design.file);
      expect(after.code).toBe(0);
      expect(after.status.replicas.map((r) => [r.fragment, r.inStep])).toEqual([
        ['ITEM_ALL', true],
        ['PAIR_ALL', true],
      ]);
    }, 240_000);

    it('a paused subscription shows as lag (WAL not confirmed, inactive) and catches up when resumed', async () => {
      await pg2.sql('apg', 'ALTER SUBSCRIPTION ddbkit_from_p DISABLE');
      try {
        await pg1.sql('apg', "INSERT INTO item_all (id, code, note) VALUES (8000, 'while paused', 'ü')");
        const deadline = Date.now() + 20_000;
        let far;
        do {
          await new Promise((r) => setTimeout(r, 200));
          far = (await status(design.file)).status.replicas.find((r) => r.fragment === 'ITEM_ALL')!;
        } while (far.lag!.find((l) => l.replica === 'FAR')!.state !== 'inactive' && Date.now() < deadline);
        const l = far.lag!.find((x) => x.replica === 'FAR')!;
        expect(l.state).toBe('inactive');
        expect(l.bytes).toBeGreaterThan(0);
        expect(far.behind).toBe(true);
        expect(far.detail).toMatch(/WAL bytes .*at FAR/);
      } finally {
        await pg2.sql('apg', 'ALTER SUBSCRIPTION ddbkit_from_p ENABLE');
      }
      await run(['sync', design.file]);
      await waitForLogical();
      expect((await replicasEqualPrimary(design)).filter((x) => !x.same)).toEqual([]);
    }, 240_000);
  });
});
