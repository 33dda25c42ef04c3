/**
 * `npm run bench:writes [-- --users 100 --ops 100 --seed 1 --rounds 1 --sessions 40 --out DIR]`: the DDB-Helper paper's
 * load test (its Figure 1) on real servers.
 *
 * The library's borrow/return workload (examples/library/workload.yaml), 100 concurrent users ×
 * 100 operations each, through `loadTest()` — the code behind `ddbkit loadtest` — on:
 *
 *   centralized  one PostgreSQL database holding every relation whole;
 *   distributed  the library design (examples/library/design.yaml) on PostgreSQL (ENIT, decision
 *                site) + MariaDB (FST) + PostgreSQL (FSEGT), STUDENT_BIB replicated synchronously on
 *                all three: every borrow and return writes nb_borrow at three sites in one
 *                two-phase commit (PREPARE TRANSACTION / XA).
 *
 * ddbkit opens at most `--sessions` sessions per site. Here 40 by default, not ddbkit's 16: with 16,
 * the centralized design's 100 users would share 16 sessions where the distributed design's share 16
 * at each of three sites, and the comparison would measure the pool rather than the designs. (The
 * PostgreSQL server holds ENIT and FSEGT: 2 × 40 sessions stay under its 100 connections.)
 *
 * Both start from the same data (deployed from examples/library/library.sql; a second round
 * refills what the first changed). Each run's invariants, "nothing lost" and replica checks must
 * pass. Printed: both throughputs (committed transactions/s), their ratio (goal: distributed ≥ 0.5 ×
 * centralized), p50/p99 latency, refusals, aborts and retries; with --out, the comparison chart
 * (SVG, PNG, HTML) as `ddbkit loadtest --compare` draws it.
 *
 * One PostgreSQL server holds the central database and the ENIT and FSEGT site databases (runs are
 * sequential, so they never compete), one MariaDB server holds FST; both are throwaway servers in a
 * temp dir, stopped at the end (Ctrl-C included). PostgreSQL runs with max_prepared_transactions=64.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { writeComparison } from '../src/loadtest/chart.js';
import { type LoadTestReport, loadTest } from '../src/loadtest/index.js';
import { loadWorkload } from '../src/loadtest/workload.js';
import { mariaDbUnavailableReason, startMariaDb } from '../test/support/mariadb-server.js';
import { postgresUnavailableReason, startPostgres } from '../test/support/postgres-server.js';
import { argValue, cleanups, createPgDatabase, finish, fmt } from './support/bench-env.js';

const started = performance.now();
const USERS = Number(argValue('--users') ?? 100);
const OPS = Number(argValue('--ops') ?? 100);
const SEED = Number(argValue('--seed') ?? 1);
const ROUNDS = Number(argValue('--rounds') ?? 1);
const OUT = argValue('--out');
const SESSIONS = Number(argValue('--sessions') ?? 40);
if (![USERS, OPS, ROUNDS, SESSIONS].every((x) => Number.isInteger(x) && x >= 1) || !Number.isInteger(SEED)) {
  console.error(
    'usage: npm run bench:writes -- [--users 100] [--ops 100] [--seed 1] [--rounds 1] [--sessions 40] [--out DIR: the comparison chart]',
  );
  process.exit(2);
}
const GOAL = 0.5;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LIBRARY = path.join(root, 'examples/library');

const ms = (x: number) => `${x.toFixed(1)} ms`;

function describeRun(label: string, r: LoadTestReport): void {
  const run = r.run;
  console.log(
    `  ${label.padEnd(12)} ${run.throughput.toFixed(1).padStart(7)} tx/s   p50 ${ms(run.latency.p50).padStart(9)}   p99 ${ms(run.latency.p99).padStart(9)}   max ${ms(run.latency.max).padStart(9)}   committed ${fmt(run.committed)}, refused ${fmt(run.refused)}, aborted ${fmt(run.aborted)}, errors ${fmt(run.errors)}, retries ${fmt(run.retries)} in ${run.seconds.toFixed(1)} s`,
  );
  for (const c of r.checks.filter((x) => !x.ok)) console.log(`    ✗ ${c.name} — ${c.detail}`);
  for (const e of run.errorSamples.slice(0, 3)) console.log(`    error (${e.count}×) in ${e.transaction}: ${e.message}`);
  if (r.ok) console.log(`    ✓ ${r.checks.length} checks pass (invariants, nothing lost, replicas identical)`);
}

async function main(): Promise<void> {
  const unavailable = postgresUnavailableReason() ?? mariaDbUnavailableReason();
  if (unavailable) {
    console.error(`bench:writes needs PostgreSQL and MariaDB servers: ${unavailable}`);
    process.exit(2);
  }
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ddbkit-bench-writes-'));
  cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));
  console.log(
    `bench:writes — borrow/return, ${USERS} concurrent users × ${OPS} operations, seed ${SEED}, at most ${SESSIONS} sessions per site`,
  );
  console.log('starting a throwaway PostgreSQL and MariaDB…');
  const [pg, maria] = await Promise.all([startPostgres(), startMariaDb()]);
  cleanups.push(
    () => pg.stop(),
    () => maria.stop(),
  );

  const central = await createPgDatabase(pg, 'central');
  const enit = await createPgDatabase(pg, 'enit');
  const fsegt = await createPgDatabase(pg, 'fsegt');
  await maria.createDatabase('fst');

  const example = parseYaml(readFileSync(path.join(LIBRARY, 'design.yaml'), 'utf8')) as Record<string, unknown>;
  const source = path.join(LIBRARY, 'library.sql');
  const distributedFile = path.join(tmp, 'library-distributed.yaml');
  writeFileSync(
    distributedFile,
    stringifyYaml({
      ...example,
      name: 'library-distributed',
      source,
      reports: undefined,
      sites: {
        ENIT: { engine: 'postgres', url: enit, decision: true },
        FST: { engine: 'mariadb', url: maria.urlFor('fst') },
        FSEGT: { engine: 'postgres', url: fsegt },
      },
    }),
  );
  const centralExample = parseYaml(readFileSync(path.join(LIBRARY, 'design-central.yaml'), 'utf8')) as Record<string, unknown>;
  const centralFile = path.join(tmp, 'library-central.yaml');
  writeFileSync(
    centralFile,
    stringifyYaml({
      ...centralExample,
      source,
      reports: undefined,
      sites: { CENTRAL: { engine: 'postgres', url: central, decision: true } },
    }),
  );

  const workload = await loadWorkload(path.join(LIBRARY, 'workload.yaml'));
  const rounds: Array<{ central: LoadTestReport; distributed: LoadTestReport }> = [];
  for (let round = 1; round <= ROUNDS; round++) {
    console.log(`\n— round ${round}/${ROUNDS}`);
    let shown = performance.now();
    const opts = {
      users: USERS,
      ops: OPS,
      seed: SEED,
      sitesDir: tmp,
      sessions: SESSIONS,
      note: (t: string) => console.log(`  ${t}`),
      onProgress: (done: number, total: number) => {
        if (performance.now() - shown < 10_000) return;
        shown = performance.now();
        console.log(`    … ${fmt(done)}/${fmt(total)} transactions`);
      },
    };
    const c = await loadTest(centralFile, workload, opts);
    describeRun('centralized', c);
    const d = await loadTest(distributedFile, workload, opts);
    describeRun('distributed', d);
    rounds.push({ central: c, distributed: d });
  }

  const best = (k: 'central' | 'distributed') =>
    rounds.map((r) => r[k]).reduce((a, b) => (b.run.throughput > a.run.throughput ? b : a));
  const c = best('central');
  const d = best('distributed');
  const ratio = d.run.throughput / c.run.throughput;
  console.log(`\nResult${ROUNDS > 1 ? ` (best of ${ROUNDS} rounds each)` : ''}`);
  console.log(
    `  centralized (one PostgreSQL):                       ${c.run.throughput.toFixed(1).padStart(7)} tx/s   p50 ${ms(c.run.latency.p50)}   p99 ${ms(c.run.latency.p99)}`,
  );
  console.log(
    `  distributed (PostgreSQL + MariaDB + PostgreSQL, 2PC): ${d.run.throughput.toFixed(1).padStart(5)} tx/s   p50 ${ms(d.run.latency.p50)}   p99 ${ms(d.run.latency.p99)}`,
  );
  console.log(
    `  ratio distributed / centralized: ${ratio.toFixed(2)} (goal ≥ ${GOAL}) — ${ratio >= GOAL ? 'MET' : 'NOT MET'}; checks ${c.ok && d.ok ? 'all pass' : 'FAILED'}`,
  );
  if (ROUNDS > 1)
    console.log(
      `  every round's ratio: ${rounds.map((r) => (r.distributed.run.throughput / r.central.run.throughput).toFixed(2)).join(', ')}`,
    );
  if (OUT) {
    const files = await writeComparison([c, d], path.resolve(OUT));
    console.log(`  chart: ${files.svg}${files.png ? `, ${files.png}` : ''}; page: ${files.html}`);
  }
  process.exitCode = c.ok && d.ok ? 0 : 1;
}

try {
  await main();
} finally {
  await finish(started);
}
