/**
 * `npm run bench:query [-- --scale S] [-- --rounds N] [-- --kisumu postgres|mariadb] [-- --customer ID]`:
 * the seven named reports of the e-commerce example, each answered three ways in the same run.
 *
 * 1. A throwaway PostgreSQL is the SOURCE and also "the centralized database": the e-commerce
 *    example scaled (scale 1.0 ≈ 1.02 M order_item rows; bench/ecommerce-scaled.ts).
 * 2. A second throwaway PostgreSQL and a throwaway MariaDB are the sites. The example's design is
 *    deployed with `deploy()` onto NAIROBI (postgres, decision site), MOMBASA (mariadb) and KISUMU
 *    (postgres by default, `--kisumu mariadb` for MariaDB), so that the decision site's views reach
 *    every site through postgres_fdw / mysql_fdw.
 * 3. Each report (examples/ecommerce/reports.yaml, `:customer_id` = --customer, default 42) runs:
 *    central  — the SQL on the source PostgreSQL (node-postgres, every row fetched);
 *    views    — the same SQL on the decision site's database, where the views are named after the
 *               global relations (postgres_fdw / mysql_fdw underneath);
 *    ddbkit   — `openDistributed(design).query(sql)` (every row materialized).
 *    The three answers must be the same multiset of rows (numbers within a small tolerance): a
 *    FAIL is printed (and the exit code is 1) otherwise.
 * 4. Goals (issue 4, §7): ddbkit ≥ 3× faster than the views and within 1.5× of central for every
 *    report; a query whose predicate selects one fragment sends SQL to one site only; planning
 *    (`db.explain(sql)`) under 5 ms per query, measured after a warm-up.
 * 5. For every report missing a goal, its distributed plan with actual rows and times (`analyze`).
 * 6. Every server and temp folder it started is removed, on success, failure or Ctrl-C.
 *
 * The machines are shared and busy: each report runs `--rounds N` (default 3) times each way,
 * interleaved, and the table shows the best round of each.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Statement } from 'pgsql-ast-parser';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { deploy } from '../src/deploy/deploy.js';
import { loadDesign } from '../src/design/load.js';
import { type SiteConnector, openConnector } from '../src/engines/connector.js';
import { openSource } from '../src/engines/source.js';
import { adaptForCoordinator } from '../src/query/analyze.js';
import { type DistributedDatabase, type QueryPlan, openDistributed } from '../src/query/distributed.js';
import type { RelationAccess } from '../src/query/localize.js';
import { planEagerAggregation } from '../src/query/eager.js';
import { planSlicePushdown } from '../src/query/pushdown.js';
import { applyTopN } from '../src/query/topn.js';
import { bindParameters, loadReports } from '../src/query/reports.js';
import { type MariaDbServer, mariaDbUnavailableReason, startMariaDb } from '../test/support/mariadb-server.js';
import { type PostgresServer, postgresUnavailableReason, startPostgres } from '../test/support/postgres-server.js';
import {
  argValue,
  cleanups,
  createPgDatabase,
  finish,
  fmt,
  generateSource,
  secs,
  startServers,
  timed,
} from './support/bench-env.js';

// ---------------------------------------------------------------------------------------------
// Arguments

const SCALE = Number(argValue('--scale') ?? 1);
const ROUNDS = Number(argValue('--rounds') ?? 3);
const KISUMU = argValue('--kisumu') ?? 'postgres';
const CUSTOMER = argValue('--customer') ?? '42';
if (
  !(SCALE > 0) ||
  !(Number.isInteger(ROUNDS) && ROUNDS >= 1) ||
  !['postgres', 'mariadb'].includes(KISUMU) ||
  !/^\d+$/.test(CUSTOMER)
) {
  console.error('usage: npm run bench:query -- [--scale 1.0] [--rounds 3] [--kisumu postgres|mariadb] [--customer 42]');
  process.exit(2);
}
const GOAL_VS_VIEWS = 3;
const GOAL_VS_CENTRAL = 1.5;
const GOAL_PLANNING_MS = 5;
const EXAMPLE_DESIGN = fileURLToPath(new URL('../examples/ecommerce/design.yaml', import.meta.url));
const EXAMPLE_REPORTS = fileURLToPath(new URL('../examples/ecommerce/reports.yaml', import.meta.url));

/** Queries whose predicate selects one fragment (or one slice): ddbkit must ask one site only. */
const ONE_FRAGMENT_QUERIES = [
  "SELECT count(*) FROM customer WHERE region = 'MSA'",
  "SELECT o.status, count(*) AS n, sum(oi.quantity) AS units FROM orders o JOIN order_item oi ON oi.order_id = o.order_id WHERE o.region = 'KSM' GROUP BY o.status",
  "SELECT customer_id, name, city FROM customer WHERE region = 'NBO' AND customer_id < 200",
];

/**
 * Queries that take the other planned paths (top-N, semijoin, broadcast, aggregation below a LEFT
 * JOIN, join elimination) on real PostgreSQL and MariaDB sites: checked against central, timed once.
 */
const PATH_QUERIES = [
  'SELECT order_id, ship_date, ship_date - order_date AS days FROM orders ORDER BY ship_date DESC, order_id LIMIT 10 OFFSET 5',
  'SELECT customer_id, name FROM customer WHERE customer_id > 1000 ORDER BY name DESC, customer_id LIMIT 7',
  "SELECT c.customer_id, c.city, o.order_id, o.status FROM customer c JOIN orders o ON o.customer_id = c.customer_id WHERE c.city = 'Karen' AND c.customer_id < 3000",
  "SELECT c.city, count(*) AS lines, sum(oi.quantity) AS units FROM customer c JOIN orders o ON o.customer_id = c.customer_id JOIN order_item oi ON oi.order_id = o.order_id WHERE c.city = 'Karen' AND c.customer_id < 2000 GROUP BY c.city",
  'SELECT c.customer_id, count(*) AS n, count(o.order_id) AS orders, sum(o.order_id) / count(o.order_id) AS mid FROM customer c LEFT JOIN orders o ON o.customer_id = c.customer_id WHERE c.customer_id > 84000 GROUP BY c.customer_id',
  'SELECT o.order_id, o.status, sum(oi.quantity * oi.unit_price) AS total FROM orders o JOIN order_item oi ON oi.order_id = o.order_id GROUP BY o.order_id, o.status ORDER BY total DESC, o.order_id LIMIT 10',
];

// ---------------------------------------------------------------------------------------------
// Result comparison: multisets of rows, numbers within a relative tolerance.

/** Dates, timestamps, numerics and int8 as the server's text: compared after normalization. */
const RAW_TYPES = new Set([20, 1082, 1114, 1184, 1700]);
const rawTypes = {
  getTypeParser: ((oid: number, format?: string) =>
    RAW_TYPES.has(oid) ? (v: string) => v : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

type Cell = null | number | string;

function normalize(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Date) {
    const iso = v.toISOString();
    return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso.replace(/\.000Z$/, '').replace('T', ' ');
  }
  if (typeof v === 'object' && 'toString' in v) v = String(v); // DuckDB decimal / date objects
  const s = String(v);
  if (/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(s)) return Number(s);
  const ts = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]00(:?00)?)?$/.exec(s);
  if (ts) return ts[2] === '00:00:00' && !ts[3] ? ts[1]! : `${ts[1]} ${ts[2]}${ts[3] ?? ''}`;
  return s;
}

/** A key grouping rows that may be equal: numbers rounded coarsely (the tolerance is checked after). */
function rowKey(row: Cell[]): string {
  return JSON.stringify(row.map((c) => (typeof c === 'number' ? Number(c.toPrecision(6)) : c)));
}

function cellsEqual(a: Cell, b: Cell): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a), Math.abs(b));
  return a === b;
}

/** undefined when `a` and `b` hold the same rows (as multisets), else a description of a difference. */
function compareRows(a: unknown[][], b: unknown[][]): string | undefined {
  if (a.length !== b.length) return `${fmt(a.length)} rows vs ${fmt(b.length)}`;
  const prep = (rows: unknown[][]) =>
    rows
      .map((r) => r.map(normalize))
      .map((r) => ({ r, k: rowKey(r) }))
      .sort((x, y) => (x.k < y.k ? -1 : x.k > y.k ? 1 : 0));
  const x = prep(a);
  const y = prep(b);
  for (let i = 0; i < x.length; i++) {
    const p = x[i]!.r;
    const q = y[i]!.r;
    if (p.length !== q.length || p.some((c, j) => !cellsEqual(c, q[j]!)))
      return `row ${i} (sorted) differs: ${JSON.stringify(p)} vs ${JSON.stringify(q)}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Deployment

function designYaml(sourceUrl: string, target: PostgresServer, maria: MariaDbServer): string {
  const example = parseYaml(readFileSync(EXAMPLE_DESIGN, 'utf8')) as Record<string, unknown>;
  return stringifyYaml({
    ...example,
    name: 'kenya-ecommerce-query-bench',
    source: sourceUrl,
    reports: EXAMPLE_REPORTS,
    sites: {
      NAIROBI: { engine: 'postgres', url: `postgres://postgres@127.0.0.1:${target.port}/nairobi`, decision: true },
      MOMBASA: { engine: 'mariadb', url: maria.urlFor('mombasa') },
      KISUMU:
        KISUMU === 'postgres'
          ? { engine: 'postgres', url: `postgres://postgres@127.0.0.1:${target.port}/kisumu` }
          : { engine: 'mariadb', url: maria.urlFor('kisumu') },
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Timing

interface Way {
  ms: number[];
}
interface ReportRun {
  name: string;
  sql: string;
  central: Way;
  views: Way;
  ddbkit: Way;
  mismatch: string[];
  rows?: number;
  explainMs?: number;
  planMs?: number;
  path?: string;
}

async function pgRun(client: pg.Client, sql: string): Promise<unknown[][]> {
  const r = await client.query({ text: sql, rowMode: 'array' });
  return r.rows as unknown[][];
}

const best = (xs: number[]): number => Math.min(...xs);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const ms = (x: number): string => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : fmt(x));

/**
 * Planning as query() does it before fetching: parse, analyse, localize, reduce, top-N, slice
 * pushdown, aggregation below a LEFT JOIN (the join cost model reads cached statistics: not timed).
 */
function fullPlanning(db: DistributedDatabase, sql: string): boolean {
  const { sql: adapted, statement } = adaptForCoordinator(sql);
  const plan = (db as unknown as { plan(sql: string, s: Statement): RelationAccess[] }).plan(adapted, statement);
  applyTopN(adapted, statement, plan);
  return (
    planSlicePushdown(adapted, statement, plan, { lists: true }) !== undefined ||
    planEagerAggregation(adapted, statement, plan) !== undefined
  );
}

/** The path a plan took, from what EXPLAIN says. */
function pathOf(plan: QueryPlan): string {
  const steps = plan.coordinator.steps.join('\n');
  const parts: string[] = [];
  if (/aggregation below the LEFT JOIN/.test(steps)) parts.push('LEFT JOIN aggregation');
  else if (plan.joins?.some((j) => j.strategy === 'broadcast')) parts.push('broadcast');
  else if (/final rows are merged/.test(steps)) parts.push('slices, final rows merged');
  else if (/lists its values per group/.test(steps)) parts.push('slice pushdown + distinct lists');
  else if (/combine the partial groups/.test(steps)) parts.push('slice pushdown');
  else if (plan.joins?.some((j) => j.strategy === 'semijoin')) parts.push('semijoin');
  else if (/rebuild/.test(steps)) parts.push('fetch + rebuild');
  else parts.push('direct');
  if (plan.site_queries.some((q) => /\bLIMIT \d+$/.test(q.sql))) parts.push('top-N');
  return parts.join(' + ');
}

function timeSync(fn: () => unknown, warmup = 5, n = 25): number {
  for (let i = 0; i < warmup; i++) fn();
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

async function timeAsync(fn: () => Promise<unknown>, warmup = 5, n = 25): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

function printPlan(plan: QueryPlan, alone: number[]): void {
  for (const [i, q] of plan.site_queries.entries()) {
    const sql = q.sql.length > 400 ? `${q.sql.slice(0, 400)}…` : q.sql;
    console.log(
      `    ${q.site.padEnd(8)} ${String(q.rows === undefined ? '?' : fmt(q.rows)).padStart(10)} rows ${String(q.ms === undefined ? '?' : ms(q.ms)).padStart(8)} ms  (alone via the site connector: ${ms(alone[i]!)} ms)  [${q.fragments.join(', ')}]`,
    );
    console.log(`             ${sql}`);
  }
  for (const s of plan.coordinator.steps) console.log(`    coordinator: ${s.length > 300 ? `${s.slice(0, 300)}…` : s}`);
  for (const j of plan.joins ?? [])
    console.log(
      `    join ${j.on}: ${j.strategy}; est. rows ${JSON.stringify(j.estimated.rows)}, cost ${JSON.stringify(j.estimated.cost)}${j.actual ? `; actual ${JSON.stringify(j.actual)}` : ''}`,
    );
  if (plan.pruned.length) console.log(`    pruned: ${plan.pruned.map((p) => p.fragment).join(', ')}`);
  if (plan.timings) {
    const t = plan.timings;
    console.log(
      `    timings: fetch ${ms(t.fetch_ms)} ms (incl. planning), rebuild ${ms(t.rebuild_ms)} ms, execute ${ms(t.execute_ms)} ms, total ${ms(t.total_ms)} ms`,
    );
  }
  const fetched = plan.site_queries.reduce((a, q) => a + (q.rows ?? 0), 0);
  const perSite = new Map<string, number>();
  for (const [i, q] of plan.site_queries.entries()) perSite.set(q.site, (perSite.get(q.site) ?? 0) + alone[i]!);
  console.log(
    `    rows fetched from the sites: ${fmt(fetched)}; the same site queries run alone one after the other: ${ms(alone.reduce((a, b) => a + b, 0))} ms in all, slowest site ${ms(Math.max(...perSite.values()))} ms`,
  );
}

// ---------------------------------------------------------------------------------------------
// Main

const unavailable = postgresUnavailableReason() ?? mariaDbUnavailableReason();
if (unavailable) {
  console.error(`bench:query needs PostgreSQL and MariaDB servers: ${unavailable}`);
  process.exit(1);
}

const started = performance.now();
let failures = 0;
try {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ddbkit-bench-query-'));
  cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));
  console.log(
    `bench:query — scale ${SCALE}, ${ROUNDS} round${ROUNDS === 1 ? '' : 's'}, KISUMU on ${KISUMU}; ${os.cpus().length} CPUs, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log('starting a source PostgreSQL (also the centralized database), a site PostgreSQL and a site MariaDB…');
  const [sourceServer, target, maria] = await startServers<[PostgresServer, PostgresServer, MariaDbServer]>(
    startPostgres,
    startPostgres,
    startMariaDb,
  );

  const gen = await generateSource(sourceServer, SCALE, 'main');

  // Deploy.
  const nairobiUrl = await createPgDatabase(target, 'nairobi');
  await maria.createDatabase('mombasa');
  if (KISUMU === 'postgres') await createPgDatabase(target, 'kisumu');
  else await maria.createDatabase('kisumu');
  const designFile = path.join(tmp, 'design.yaml');
  writeFileSync(designFile, designYaml(gen.url, target, maria));
  const design = await loadDesign(designFile);
  const source = await openSource(gen.url, tmp);
  let deployed: Awaited<ReturnType<typeof deploy>>;
  try {
    const d = await timed(() => deploy(design, source, { verify: false, sitesDir: tmp }));
    deployed = d.value;
    const rows = deployed.loaded.reduce((a, l) => a + l.rows, 0);
    console.log(
      `  deploy(): ${fmt(rows)} rows in ${secs(d.ms)}; views at NAIROBI: ${deployed.views.map((v) => v.view).join(', ')}`,
    );
  } finally {
    await source.close();
  }
  for (const site of ['NAIROBI', 'MOMBASA', 'KISUMU']) {
    const loaded = deployed.loaded.filter((l) => l.site === site);
    console.log(`    ${site.padEnd(8)} ${loaded.map((l) => `${l.table} ${fmt(l.rows)}`).join(', ')}`);
  }

  // The three ways.
  const central = new pg.Client({ connectionString: gen.url, types: rawTypes });
  const views = new pg.Client({ connectionString: nairobiUrl, types: rawTypes });
  await central.connect();
  cleanups.push(() => central.end());
  await views.connect();
  cleanups.push(() => views.end());
  for (const c of [central, views]) await c.query("SET TimeZone = 'UTC'");
  const db = await openDistributed(designFile, { sitesDir: tmp });
  cleanups.push(() => db.close());

  /** A site query run by itself through the site's connector (every row fetched), for the plans below. */
  const siteConnectors = new Map<string, SiteConnector>();
  const siteAlone = async (site: string, sql: string): Promise<number> => {
    let c = siteConnectors.get(site);
    if (!c) {
      const opened = await openConnector(
        design.sites.find((s) => s.name === site)!,
        tmp,
      );
      cleanups.push(() => opened.close());
      siteConnectors.set(site, (c = opened));
    }
    const connector = c;
    return (await timed(() => connector.query(sql))).ms;
  };

  const reports = await loadReports(design);
  const runs: ReportRun[] = reports.map((r) => ({
    name: r.name,
    sql: bindParameters(r, { customer_id: CUSTOMER }),
    central: { ms: [] },
    views: { ms: [] },
    ddbkit: { ms: [] },
    mismatch: [],
  }));

  // Warm-up: connections, the coordinator, the fdw links.
  await pgRun(central, 'SELECT count(*) FROM region');
  await pgRun(views, 'SELECT count(*) FROM region');
  await db.query('SELECT count(*) FROM region');

  console.log(
    `\nrunning the ${runs.length} reports, ${ROUNDS} round${ROUNDS === 1 ? '' : 's'} (central, views, ddbkit interleaved)…`,
  );
  for (let round = 1; round <= ROUNDS; round++) {
    const t0 = performance.now();
    for (const run of runs) {
      const c = await timed(() => pgRun(central, run.sql));
      const v = await timed(() => pgRun(views, run.sql));
      const d = await timed(() => db.query(run.sql));
      run.central.ms.push(c.ms);
      run.views.ms.push(v.ms);
      run.ddbkit.ms.push(d.ms);
      if (round === 1) {
        const vs = compareRows(c.value, v.value);
        const ds = compareRows(c.value, d.value.rows);
        if (vs) run.mismatch.push(`views ≠ central: ${vs}`);
        if (ds) run.mismatch.push(`ddbkit ≠ central: ${ds}`);
        run.rows = c.value.length;
      }
    }
    console.log(`  round ${round}: ${secs(performance.now() - t0)}`);
  }

  // Planning overhead, after the warm-up above.
  for (const run of runs) {
    run.explainMs = await timeAsync(() => db.explain(run.sql));
    run.planMs = timeSync(() => fullPlanning(db, run.sql));
    run.path = pathOf(await db.explain(run.sql));
  }

  // The table.
  console.log(
    `\n=== bench:query, scale ${SCALE}: ${fmt(gen.rows)} source rows (order_item ${fmt(gen.counts.order_item ?? 0)}); best of ${ROUNDS} round${ROUNDS === 1 ? '' : 's'}, ms ===`,
  );
  console.log(
    "central = the SQL on the source PostgreSQL; views = the same SQL on NAIROBI's views (postgres_fdw/mysql_fdw); ddbkit = openDistributed().query()\n",
  );
  const head = `${'report'.padEnd(33)}${'rows'.padStart(8)}${'central'.padStart(9)}${'views'.padStart(9)}${'ddbkit'.padStart(9)}${'vs views'.padStart(10)}${'vs central'.padStart(12)}  ${'≥3× views'.padEnd(10)}${'≤1.5× central'.padEnd(14)}${'same rows'.padEnd(10)}${'explain'.padStart(8)}${'planning'.padStart(10)}  path`;
  console.log(head);
  console.log('-'.repeat(head.length + 8));
  let allFast = true;
  let allClose = true;
  let allPlanning = true;
  const missing: ReportRun[] = [];
  for (const run of runs) {
    const c = best(run.central.ms);
    const v = best(run.views.ms);
    const d = best(run.ddbkit.ms);
    const fast = v / d >= GOAL_VS_VIEWS;
    const close = d / c <= GOAL_VS_CENTRAL;
    // The goal is read on planning from the SQL text (parse included): db.explain of a text it
    // has seen reuses the parsed statement, so it says less about a new query.
    const planning = Math.max(run.explainMs!, run.planMs!) < GOAL_PLANNING_MS;
    allFast &&= fast;
    allClose &&= close;
    allPlanning &&= planning;
    if (!fast || !close) missing.push(run);
    if (run.mismatch.length) failures++;
    console.log(
      `${run.name.padEnd(33)}${fmt(run.rows ?? 0).padStart(8)}${ms(c).padStart(9)}${ms(v).padStart(9)}${ms(d).padStart(9)}${`${(v / d).toFixed(2)}×`.padStart(10)}${`${(d / c).toFixed(2)}`.padStart(12)}  ${(fast ? 'yes' : 'NO').padEnd(10)}${(close ? 'yes' : 'NO').padEnd(14)}${(run.mismatch.length ? 'FAIL' : 'ok').padEnd(10)}${ms(run.explainMs!).padStart(8)}${ms(run.planMs!).padStart(10)}  ${run.path}`,
    );
  }
  console.log(
    `\nvs views = views ms / ddbkit ms (× faster); vs central = ddbkit ms / central ms; explain = median db.explain(sql) ms (the text seen before: its parse is reused); planning = median of the whole planning query() does for a new text (parse, localize, top-N, slice pushdown, LEFT JOIN aggregation)`,
  );
  console.log('every round (central / views / ddbkit, ms):');
  for (const run of runs)
    console.log(
      `  ${run.name.padEnd(33)}${[run.central, run.views, run.ddbkit].map((w) => w.ms.map((x) => fmt(x)).join(' ')).join('  /  ')}`,
    );
  for (const run of runs.filter((r) => r.mismatch.length)) {
    for (const m of run.mismatch) console.log(`FAIL ${run.name}: ${m}`);
  }

  // One fragment, one site.
  console.log('\nqueries whose predicate selects one fragment (sites ddbkit sent SQL to, from plan.site_queries):');
  let oneSite = true;
  for (const sql of ONE_FRAGMENT_QUERIES) {
    const r = await db.query(sql, { analyze: true });
    const sites = [...new Set(r.plan.site_queries.map((s) => s.site))];
    const c = await pgRun(central, sql);
    const diff = compareRows(c, r.rows);
    if (diff) failures++;
    oneSite &&= sites.length === 1;
    console.log(
      `  ${sites.length === 1 ? 'ok  ' : 'NO  '} ${sites.length} site${sites.length === 1 ? '' : 's'} (${sites.join(', ')}), ${r.plan.site_queries.length} site quer${r.plan.site_queries.length === 1 ? 'y' : 'ies'}, ${ms(r.plan.timings?.total_ms ?? NaN)} ms, ${diff ? `FAIL vs central: ${diff}` : 'same rows as central'}   ${sql}`,
    );
    for (const q of r.plan.site_queries) console.log(`         → ${q.site}: ${q.sql}`);
  }

  // The other planned paths, on these servers.
  console.log('\nqueries taking the other planned paths (ddbkit once, checked against central):');
  for (const sql of PATH_QUERIES) {
    const t0 = performance.now();
    const r = await db.query(sql, { analyze: true });
    const took = performance.now() - t0;
    const c = await timed(() => pgRun(central, sql));
    const diff = compareRows(c.value, r.rows);
    if (diff) failures++;
    console.log(
      `  ${diff ? 'FAIL' : 'ok  '} ${pathOf(r.plan).padEnd(24)} ddbkit ${ms(took).padStart(7)} ms, central ${ms(c.ms).padStart(7)} ms, ${fmt(r.rows.length)} rows${diff ? ` — ${diff}` : ''}   ${sql}`,
    );
    for (const j of r.plan.joins ?? [])
      console.log(`         join ${j.on}: ${j.strategy}${j.actual ? ` (actual ${JSON.stringify(j.actual)})` : ''}`);
  }

  console.log('\ngoals:');
  console.log(`  every report ≥ ${GOAL_VS_VIEWS}× faster than the fdw views:  ${allFast ? 'MET' : 'NOT MET'}`);
  console.log(`  every report within ${GOAL_VS_CENTRAL}× of central:           ${allClose ? 'MET' : 'NOT MET'}`);
  console.log(`  one-fragment query → one site:                ${oneSite ? 'MET' : 'NOT MET'}`);
  console.log(`  planning (parse included) < ${GOAL_PLANNING_MS} ms per report:  ${allPlanning ? 'MET' : 'NOT MET'}`);
  console.log(`  same rows three ways:                         ${failures ? `FAIL (${failures})` : 'ok'}`);

  if (missing.length) {
    console.log('\nplans (analyze) of the reports missing a goal:');
    for (const run of missing) {
      const r = await db.query(run.sql, { analyze: true });
      console.log(`\n  ${run.name} — ${r.rows.length} rows; ${run.path}`);
      const alone: number[] = [];
      for (const sq of r.plan.site_queries) alone.push(await siteAlone(sq.site, sq.sql));
      printPlan(r.plan, alone);
    }
  }
  if (failures) process.exitCode = 1;
} catch (e) {
  console.error(`\nbench:query failed: ${(e as Error).stack ?? String(e)}`);
  process.exitCode = 1;
} finally {
  await finish(started);
}
