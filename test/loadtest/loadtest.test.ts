/**
 * `ddbkit loadtest` end to end, through the real write path: the library example on a throwaway
 * PostgreSQL (ENIT, FSEGT) and MariaDB (FST) — STUDENT_BIB replicated synchronously on the three,
 * so every borrow and return is a two-phase commit across two engines — and its centralized design
 * on an embedded PGlite for --compare. Runs the CLI in-process (src/cli/main.ts).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { main } from '../../src/cli/main.js';
import { type MariaDbServer, mariaDbUnavailableReason, startMariaDb } from '../support/mariadb-server.js';
import { type PostgresServer, postgresUnavailableReason, startPostgres } from '../support/postgres-server.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const LIBRARY = path.join(root, 'examples/library');
const WORKLOAD = path.join(LIBRARY, 'workload.yaml');
const SHOP = path.join(root, 'examples/ecommerce');

const unavailable = postgresUnavailableReason() ?? mariaDbUnavailableReason();
if (unavailable) console.warn(`\n*** SKIPPING the loadtest tests against real PostgreSQL/MariaDB servers: ${unavailable} ***\n`);

// eslint-disable-next-line no-control-regex
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: (t: string) => void (stdout += t), stderr: (t: string) => void (stderr += t), exitCode: 0 };
  const code = await main(args, io);
  return { code, stdout: plain(stdout), stderr: plain(stderr) };
}

interface CheckJson {
  kind: string;
  name: string;
  ok: boolean;
  detail: string;
}
interface ReportJson {
  ok: boolean;
  run: {
    transactions: number;
    committed: number;
    refused: number;
    aborted: number;
    errors: number;
    retries: number;
    throughput: number;
  };
  checks: CheckJson[];
}

describe.skipIf(unavailable !== undefined)('ddbkit loadtest on PostgreSQL + MariaDB + PostgreSQL sites', () => {
  let tmp: string;
  let pg: PostgresServer;
  let maria: MariaDbServer;
  let distributed: string;
  let central: string;
  let shop: string;
  /** Where the catalog caches, the decision log and the central PGlite go (not in examples/). */
  let sites: string;

  /** A copy of a shipped servers design whose URLs point at this test's servers, with its databases created. */
  async function onTestServers(file: string): Promise<string> {
    const dir = path.dirname(file);
    const pgModule = await import('pg');
    const admin = new (pgModule.default ?? pgModule).Client({ connectionString: pg.url });
    await admin.connect();
    let text = readFileSync(file, 'utf8');
    try {
      for (const m of [...text.matchAll(/"postgres:\/\/[^"]*@127\.0\.0\.1:\d+\/(\w+)"/g)]) {
        await admin.query(`CREATE DATABASE ${m[1]!}`);
        text = text.replace(m[0], `"postgres://postgres@127.0.0.1:${pg.port}/${m[1]!}"`);
      }
    } finally {
      await admin.end();
    }
    for (const m of [...text.matchAll(/"mysql:\/\/[^"]*@127\.0\.0\.1:\d+\/(\w+)"/g)]) {
      await maria.createDatabase(m[1]!);
      text = text.replace(m[0], `"${maria.urlFor(m[1]!)}"`);
    }
    text = text.replace(/^source: \.\/(.*)$/m, (_, f: string) => `source: ${path.join(dir, f)}`);
    text = text.replace(/^reports: \.\/(.*)$/m, (_, f: string) => `reports: ${path.join(dir, f)}`);
    const out = path.join(tmp, path.basename(dir) + '-' + path.basename(file));
    writeFileSync(out, text);
    return out;
  }

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ddbkit-loadtest-'));
    [pg, maria] = await Promise.all([startPostgres(), startMariaDb()]);
    // The shipped designs on servers, pointed at this test's servers (their databases created here).
    sites = path.join(tmp, 'sites');
    distributed = await onTestServers(path.join(LIBRARY, 'design-servers.yaml'));
    shop = await onTestServers(path.join(SHOP, 'design-servers.yaml'));
    const centralExample = parseYaml(readFileSync(path.join(LIBRARY, 'design-central.yaml'), 'utf8')) as Record<string, unknown>;
    central = path.join(tmp, 'library-central.yaml');
    writeFileSync(central, stringifyYaml({ ...centralExample, source: path.join(LIBRARY, 'library.sql'), reports: undefined }));
  });

  afterAll(async () => {
    await Promise.all([pg?.stop(), maria?.stop()]);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('runs 8 users × 10 borrow/return operations; every invariant holds, nothing lost, replicas identical', async () => {
    const r = await cli([
      'loadtest',
      distributed,
      '--workload',
      WORKLOAD,
      '--users',
      '8',
      '--ops',
      '10',
      '--format',
      'json',
      '--sites-dir',
      sites,
    ]);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as ReportJson;
    expect(report.run.transactions).toBe(80);
    expect(report.run.committed + report.run.refused + report.run.aborted + report.run.errors).toBe(80);
    expect(report.run.errors).toBe(0);
    expect(report.run.committed).toBeGreaterThan(20);
    expect(report.run.throughput).toBeGreaterThan(0);
    const failed = report.checks.filter((c) => !c.ok);
    expect(failed).toEqual([]);
    const names = report.checks.map((c) => c.name);
    expect(names).toContain("nb_borrow equals each student's open loans");
    expect(names).toContain('replicas identical: STUDENT_BIB');
    expect(names).toContain('nothing lost: loan');
    expect(report.ok).toBe(true);
    expect(r.code).toBe(0);
  });

  it('prints the report as a table, starting again from the source data', async () => {
    const r = await cli([
      'loadtest',
      distributed,
      '--workload',
      WORKLOAD,
      '--users',
      '4',
      '--ops',
      '5',
      '--seed',
      '3',
      '--sites-dir',
      sites,
    ]);
    expect(r.code).toBe(0);
    // the previous test changed the data: loadtest refilled what differed from the source
    expect(r.stdout).toMatch(/sites brought to the source's data: 0 tables created, [1-9]\d* refilled/);
    expect(r.stdout).toMatch(/committed tx\/s/);
    expect(r.stdout).toMatch(/latency of a committed transaction \(retries included\): p50 [\d.]+ ms {2}p95/);
    expect(r.stdout).toMatch(/✓ copies conserved/);
    expect(r.stdout).toMatch(/✓ replicas identical: STUDENT_BIB — ENIT, FST, FSEGT: identical on every replica/);
    expect(r.stdout).toMatch(/PASSED/);
  });

  it('reports an invariant that a faulty transaction breaks, and exits 1', async () => {
    const faulty = path.join(tmp, 'faulty.yaml');
    const text = readFileSync(WORKLOAD, 'utf8').replace(
      'transactions:\n',
      'transactions:\n  lose_a_copy:\n    weight: 1\n    steps:\n      - sql: UPDATE book SET stock = stock - 1 WHERE id_book = :book AND stock > 0\n',
    );
    writeFileSync(faulty, text);
    const r = await cli(['loadtest', distributed, '--workload', faulty, '--users', '4', '--ops', '6', '--sites-dir', sites]);
    expect(r.stdout).toMatch(
      /✗ copies conserved \(stock on the shelves \+ books out = as before\) — copies = before\.copies: copies = \d+, before\.copies = \d+/,
    );
    expect(r.stdout).toMatch(/✓ stock never negative/);
    expect(r.stdout).toMatch(/FAILED/);
    expect(r.code).toBe(1);
  });

  it('refuses a workload with a mistake, naming the file and line (exit 2)', async () => {
    const bad = path.join(tmp, 'bad.yaml');
    writeFileSync(bad, readFileSync(WORKLOAD, 'utf8').replace('expect: stock > 0', 'expect: stock >> 0'));
    const r = await cli(['loadtest', distributed, '--workload', bad, '--users', '1', '--ops', '1', '--sites-dir', sites]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(
        `${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: transactions\\.borrow\\.steps\\[0\\]\\.expect: cannot read`,
      ),
    );
  });

  it('runs the e-commerce place-order workload: orders across two sites, stock conserved', async () => {
    const r = await cli([
      'loadtest',
      shop,
      '--workload',
      path.join(SHOP, 'workload.yaml'),
      '--users',
      '4',
      '--ops',
      '6',
      '--format',
      'json',
      '--sites-dir',
      sites,
    ]);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as ReportJson;
    expect(report.run.errors).toBe(0);
    expect(report.run.committed).toBeGreaterThan(10);
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    const names = report.checks.map((c) => c.name);
    for (const n of [
      'units conserved (in stock + ordered = as before)',
      "every payment equals its order's total",
      'nothing lost: orders',
      'nothing lost: payment',
    ])
      expect(names).toContain(n);
    expect(r.code).toBe(0);
  }, 300_000);

  it('--compare runs the same workload on the centralized design and draws the chart', async () => {
    const out = path.join(tmp, 'report');
    const r = await cli([
      'loadtest',
      distributed,
      '--workload',
      WORKLOAD,
      '--users',
      '4',
      '--ops',
      '5',
      '--compare',
      central,
      '--out',
      out,
      '--sites-dir',
      sites,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Comparison\n {2}university-library-servers +3 sites +[\d.]+ tx\/s/);
    expect(r.stdout).toMatch(/library-central +centralized +[\d.]+ tx\/s/);
    const svg = readFileSync(path.join(out, 'loadtest.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('university-library-servers (3 sites)');
    expect(svg).toContain('library-central (centralized)');
    expect(svg).toContain('Throughput (committed transactions/s)');
    const html = readFileSync(path.join(out, 'index.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('replicas identical: STUDENT_BIB');
    expect(existsSync(path.join(out, 'loadtest.png'))).toBe(true);
    const json = JSON.parse(readFileSync(path.join(out, 'loadtest.json'), 'utf8')) as ReportJson[];
    expect(json.map((j) => j.ok)).toEqual([true, true]);
  }, 300_000);
});
