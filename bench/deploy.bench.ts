/**
 * `npm run bench:deploy [-- --scale S] [-- --mem-scale S2]`: end-to-end deploy throughput against
 * the engines' own bulk loaders, measured in the same run.
 *
 * 1. A throwaway PostgreSQL is the SOURCE: the e-commerce example scaled (scale 1.0 ≈ 1.02 M
 *    order_item rows, ≈1.8 M rows in all; bench/ecommerce-scaled.ts), generated server-side.
 * 2. A second throwaway PostgreSQL and a throwaway MariaDB are the TARGETS. The example's design is
 *    deployed with `deploy()` onto NAIROBI (postgres, decision site), MOMBASA (mariadb) and KISUMU
 *    (mariadb). The timed deploy runs with `verify: false`; verification is timed on its own after.
 * 3. Baseline ("native"): every fragment is exported from the source to a file with
 *    `psql \copy (SELECT …) TO file` (timed apart, as the native extraction cost), then loaded into
 *    an identical empty table (same DDL as ddbkit's) with `psql \copy t FROM file` (PostgreSQL) or
 *    `mariadb --local-infile=1 -e "LOAD DATA LOCAL INFILE …"` (MariaDB). The ratio is ddbkit's
 *    end-to-end rows/s (source → site) over the native rows/s (file → site). Goal: ≥ 70 %.
 *    ddbkit's extraction alone (its source cursor drained, nothing loaded) is also timed.
 * 4. Memory: this process's RSS and heapUsed are sampled every 200 ms during the deploy, at a
 *    small scale (`--mem-scale`, default scale/4) and at the main scale; peak vs the pre-deploy
 *    baseline (after a GC) must not grow with the data.
 * 5. Every server and temp folder it started is removed, on success, failure or Ctrl-C.
 *
 * The machines this runs on are shared and busy: one measurement can be off by 2× either way.
 * So the main scale runs `--rounds N` (default 3) rounds, each a ddbkit deploy then the native
 * loads of the same rows into fresh databases (dropped after the round), and the report compares
 * the best round of each, with every round's ratio and the load average printed alongside.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { ColumnType } from '../src/catalog/types.js';
import { type DeployProgress, type DeployResult, deploy } from '../src/deploy/deploy.js';
import { layoutSites } from '../src/deploy/layout.js';
import { verifyDeployment } from '../src/deploy/verify.js';
import { type Design, parseDesign } from '../src/design/load.js';
import { fragmentSelectSql, membershipSql } from '../src/design/membership-sql.js';
import { type ResolvedFragment, resolveDesign } from '../src/design/resolve.js';
import { type SiteConnector, openConnector } from '../src/engines/connector.js';
import { type SourceDatabase, openSource } from '../src/engines/source.js';
import { type MariaDbServer, mariaDbUnavailableReason, startMariaDb } from '../test/support/mariadb-server.js';
import { type PostgresServer, postgresUnavailableReason, startPostgres } from '../test/support/postgres-server.js';
import {
  type GeneratedSource,
  argValue,
  cleanups,
  finish,
  createPgDatabase,
  fmt,
  generateSource as generateScaledSource,
  q,
  secs,
  timed,
  startServers,
} from './support/bench-env.js';

// ---------------------------------------------------------------------------------------------
// Arguments

const SCALE = Number(argValue('--scale') ?? 1);
const MEM_SCALE = Number(argValue('--mem-scale') ?? SCALE / 4);
const ROUNDS = Number(argValue('--rounds') ?? 3);
if (!(SCALE > 0) || !(MEM_SCALE >= 0) || !(Number.isInteger(ROUNDS) && ROUNDS >= 1)) {
  console.error('usage: npm run bench:deploy -- [--scale 1.0] [--mem-scale 0.25 | 0 to skip] [--rounds 3]');
  process.exit(2);
}
const GOAL = 0.7;
const EXAMPLE_DESIGN = new URL('../examples/ecommerce/design.yaml', import.meta.url);
const PSQL = process.env.DDBKIT_PSQL ?? 'psql';
const MARIADB = process.env.DDBKIT_MARIADB_CLIENT ?? 'mariadb';
/** The batch size deploy() streams with (src/deploy/deploy.ts). */
const DEPLOY_BATCH = 5000;
/** The session ddbkit's MariaDB connector sets up, given to the native client too. */
const MARIADB_SESSION =
  "SET time_zone = '+00:00', sql_mode = 'STRICT_TRANS_TABLES,STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_ZERO_DATE,NO_ZERO_IN_DATE'";

// ---------------------------------------------------------------------------------------------
// Cleanup: everything started is registered here and undone in reverse, exactly once.

// (bench/support/bench-env.ts: `cleanups`, `cleanup()` and the Ctrl-C handlers.)

// ---------------------------------------------------------------------------------------------
// Helpers

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const pct = (x: number): string => `${(100 * x).toFixed(0)} %`;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const TIME = '/usr/bin/time';
let timeFile = '';

/**
 * Runs a client program; rejects with its stderr on a non-zero exit. Returns stdout and, when GNU
 * time is there, the CPU seconds the program used.
 */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ out: string; cpu: number }> {
  const measured = timeFile !== '' && existsSync(TIME);
  const [bin, argv] = measured ? [TIME, ['-f', '%U %S', '-o', timeFile, cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    const child = spawn(bin, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.trim()}`));
      let cpu = NaN;
      if (measured) {
        const last = readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '';
        const [user, sys] = last.split(' ').map(Number);
        cpu = (user ?? NaN) + (sys ?? NaN);
      }
      resolve({ out, cpu });
    });
  });
}

class MemorySampler {
  readonly baseline: NodeJS.MemoryUsage;
  peakRss: number;
  peakHeap: number;
  /** heapUsed right after each full (mark-sweep) GC: the memory actually kept alive. */
  peakLiveHeap: number;
  samples = 0;
  private timer: NodeJS.Timeout;
  private observer: PerformanceObserver;
  constructor(everyMs = 200) {
    gc();
    this.baseline = process.memoryUsage();
    this.peakRss = this.baseline.rss;
    this.peakHeap = this.baseline.heapUsed;
    this.peakLiveHeap = this.baseline.heapUsed;
    this.timer = setInterval(() => this.sample(), everyMs);
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)
          this.peakLiveHeap = Math.max(this.peakLiveHeap, process.memoryUsage().heapUsed);
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }
  sample(): void {
    const m = process.memoryUsage();
    this.samples++;
    if (m.rss > this.peakRss) this.peakRss = m.rss;
    if (m.heapUsed > this.peakHeap) this.peakHeap = m.heapUsed;
  }
  stop(): void {
    this.sample();
    clearInterval(this.timer);
    this.observer.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// CPU accounting: wall time on a shared machine says little, CPU seconds per process say where the
// work is. Linux only (/proc); without it the CPU columns are left out.

const CLK_TCK = 100;

/** CPU seconds of each of `pids` and its children, live (utime+stime) and reaped (cutime+cstime). */
function treeCpuSeconds(pids: number[]): number[] {
  const stats = new Map<number, string[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // after "pid (comm) ": state ppid … utime(11) stime(12) cutime(13) cstime(14)
      stats.set(Number(entry), stat.slice(stat.lastIndexOf(')') + 2).split(' '));
    } catch {
      /* exited meanwhile */
    }
  }
  const ticks = (f: string[]): number => Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  return pids.map((pid) => {
    const own = stats.get(pid);
    if (!own) return NaN;
    let total = ticks(own);
    for (const f of stats.values()) if (Number(f[1]) === pid) total += ticks(f);
    return total / CLK_TCK;
  });
}

interface CpuProbe {
  /** CPU seconds so far of: this process, the source server, the target PostgreSQL, MariaDB. */
  read(): { node: number; source: number; targetPg: number; maria: number };
}

async function cpuProbe(servers: Servers): Promise<CpuProbe> {
  const postmaster = async (url: string): Promise<number> => {
    const c = await openConnector({ name: 'pid', engine: 'postgres', url }, '.');
    try {
      const [row] = await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const status = readFileSync(`/proc/${row!.pid}/status`, 'utf8');
      return Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
    } finally {
      await c.close();
    }
  };
  const source = await postmaster(servers.source.url);
  const targetPg = await postmaster(servers.target.url);
  const m = await openConnector({ name: 'pid', engine: 'mariadb', url: servers.maria.url }, '.');
  let maria: number;
  try {
    const [row] = await m.query<{ f: string }>('SELECT @@pid_file AS f');
    maria = Number(readFileSync(row!.f, 'utf8').trim());
  } finally {
    await m.close();
  }
  return {
    read: () => {
      const u = process.cpuUsage();
      const [s, t, m] = treeCpuSeconds([source, targetPg, maria]);
      return { node: (u.user + u.system) / 1e6, source: s!, targetPg: t!, maria: m! };
    },
  };
}

/** The fragment's rows as `psql \copy … TO` must write them for a MariaDB LOAD DATA. */
function mariaDbExportSql(f: ResolvedFragment, types: ColumnType[]): string {
  const exprs = f.columns.map((c, i) => {
    const family = types[i]!.family;
    if (family === 'timestamptz') return `(r.${q(c)} AT TIME ZONE 'UTC')`;
    if (family === 'boolean') return `r.${q(c)}::int`;
    if (family === 'binary') throw new Error(`binary column ${c}: not in the e-commerce example`);
    return `r.${q(c)}`;
  });
  const key = f.relation.primaryKey.filter((k) => f.columns.includes(k));
  const order = key.length > 0 ? ` ORDER BY ${key.map((k) => `r.${q(k)}`).join(', ')}` : '';
  return `SELECT ${exprs.join(', ')} FROM ${q(f.relation.name)} AS r WHERE ${membershipSql(f, 'r')}${order}`;
}

/** examples/ecommerce/design.yaml with its fragments unchanged, its sites moved to PostgreSQL + MariaDB. */
function designYaml(sourceUrl: string, pg: PostgresServer, maria: MariaDbServer, tag: string): string {
  // Site databases are named <site>_<tag>; createTargets makes them, dropTargets removes them.
  const example = parseYaml(readFileSync(EXAMPLE_DESIGN, 'utf8')) as Record<string, unknown>;
  return stringifyYaml({
    ...example,
    name: 'kenya-ecommerce-bench',
    source: sourceUrl,
    sites: {
      NAIROBI: { engine: 'postgres', url: `postgres://postgres@127.0.0.1:${pg.port}/nairobi_${tag}`, decision: true },
      MOMBASA: { engine: 'mariadb', url: maria.urlFor(`mombasa_${tag}`) },
      KISUMU: { engine: 'mariadb', url: maria.urlFor(`kisumu_${tag}`) },
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Steps

interface Servers {
  source: PostgresServer;
  target: PostgresServer;
  maria: MariaDbServer;
}

const SITES = [
  { site: 'NAIROBI', engine: 'postgres' },
  { site: 'MOMBASA', engine: 'mariadb' },
  { site: 'KISUMU', engine: 'mariadb' },
] as const;

/** CPU seconds spent during one table's load, by process. */
interface Cpu {
  /** This process (ddbkit: extraction decoding, encoding, drivers). */
  node: number;
  source: number;
  /** The site's server (target PostgreSQL or MariaDB). */
  target: number;
  /** The native client program (psql, mariadb). */
  client: number;
}

/** One table's load in one round. */
interface TableLoad {
  site: string;
  table: string;
  rows: number;
  ms: number;
  cpu?: Cpu;
}

interface DeployRound {
  deployMs: number;
  tables: TableLoad[];
  memory: MemorySampler;
  views: number;
}

async function adminExecute(engine: 'postgres' | 'mariadb', servers: Servers, sql: string): Promise<void> {
  const url = engine === 'postgres' ? servers.target.url : servers.maria.url;
  const admin = await openConnector({ name: 'admin', engine, url }, '.');
  try {
    await admin.execute(sql);
  } finally {
    await admin.close();
  }
}

/** The databases of every site for `tag` (prefix `native_` for the baseline's). */
async function createTargets(servers: Servers, prefix: string, tag: string): Promise<void> {
  for (const { site, engine } of SITES) {
    const name = `${prefix}${site.toLowerCase()}_${tag}`;
    if (engine === 'postgres') await createPgDatabase(servers.target, name);
    else await servers.maria.createDatabase(name);
  }
}

async function dropTargets(servers: Servers, prefix: string, tag: string): Promise<void> {
  for (const { site, engine } of SITES) {
    const name = `${prefix}${site.toLowerCase()}_${tag}`;
    if (engine === 'postgres') await adminExecute('postgres', servers, `DROP DATABASE IF EXISTS ${q(name)} WITH (FORCE)`);
    else await adminExecute('mariadb', servers, `DROP DATABASE IF EXISTS \`${name}\``);
  }
}

function generateSource(servers: Servers, scale: number, tag: string): Promise<GeneratedSource> {
  return generateScaledSource(servers.source, scale, tag);
}

/** deploy() into fresh site databases, verify off, memory sampled; the databases stay for verify. */
async function deployRound(design: Design, source: SourceDatabase, label: string, probe?: CpuProbe): Promise<DeployRound> {
  // CPU per table, read when deploy() reports a table starting (after its DDL) and done.
  const cpu = new Map<string, Cpu>();
  let before: ReturnType<CpuProbe['read']> | undefined;
  const progress: DeployProgress = {
    start: () => {
      before = probe?.read();
    },
    advance: () => {},
    done: (site, fragment) => {
      if (!probe || !before) return;
      const after = probe.read();
      cpu.set(`${site}.${fragment.toLowerCase()}`, {
        node: after.node - before.node,
        source: after.source - before.source,
        target: after.targetPg - before.targetPg + (after.maria - before.maria),
        client: 0,
      });
    },
    note: () => {},
  };
  const memory = new MemorySampler(200);
  let result: DeployResult;
  let deployMs: number;
  try {
    const d = await timed(() => deploy(design, source, { verify: false, progress }));
    result = d.value;
    deployMs = d.ms;
  } finally {
    memory.stop();
  }
  const tables = result.loaded.map((l) => ({
    site: l.site,
    table: l.table,
    rows: l.rows,
    ms: l.seconds * 1000,
    cpu: cpu.get(`${l.site}.${l.fragment.toLowerCase()}`),
  }));
  const rows = tables.reduce((a, t) => a + t.rows, 0);
  console.log(`  ${label}: ddbkit deploy() ${fmt(rows)} rows in ${secs(deployMs)}   ${siteLine(tables)}`);
  return { deployMs, tables, memory, views: result.views.length };
}

function siteLine(tables: TableLoad[]): string {
  return SITES.map(({ site }) => {
    const t = tables.filter((x) => x.site === site);
    const rows = t.reduce((a, x) => a + x.rows, 0);
    const ms = t.reduce((a, x) => a + x.ms, 0);
    return `${site} ${fmt(rows / (ms / 1000))} rows/s`;
  }).join(', ');
}

interface ExportedTable {
  site: string;
  engine: string;
  table: string;
  fragment: ResolvedFragment;
  columns: string[];
  ddl: string[];
  file: string;
  rows: number;
  /** psql \copy (SELECT …) TO file. */
  nativeExtractMs: number;
  /** ddbkit's source cursor (the one deploy() reads) drained into nothing. */
  ddbkitExtractMs: number;
}

/** Every fragment of every site exported once for the native loads; both extraction costs timed. */
async function exportFragments(design: Design, source: SourceDatabase, sourceUrl: string, tmp: string): Promise<ExportedTable[]> {
  const resolved = resolveDesign(design, source.catalog);
  const out: ExportedTable[] = [];
  const env = { ...process.env, PGOPTIONS: '-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=postgres' };
  for (const layout of layoutSites(resolved)) {
    const engine = layout.site.engine;
    for (const table of layout.tables) {
      const f = table.fragment;
      const types = table.columns.map((c) => c.type);
      const file = path.join(tmp, `${layout.site.name}-${table.table}.tsv`);
      const exportSql = engine === 'postgres' ? fragmentSelectSql(f) : mariaDbExportSql(f, types);
      const ex = await timed(() =>
        run(PSQL, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', sourceUrl, '-c', `\\copy (${exportSql}) TO '${file}'`], env),
      );
      const dx = await timed(async () => {
        let n = 0;
        for await (const batch of source.connector.stream(fragmentSelectSql(f), DEPLOY_BATCH, types)) n += batch.length;
        return n;
      });
      out.push({
        site: layout.site.name,
        engine,
        table: table.table,
        fragment: f,
        columns: table.columns.map((c) => layout.dialect.quoteIdentifier(c.name)),
        ddl: layout.dialect.createTable(table.table, table.columns, table.primaryKey, {
          checks: table.checks,
          indexes: table.indexes,
          relation: f.relation.name,
        }),
        file,
        rows: dx.value,
        nativeExtractMs: ex.ms,
        ddbkitExtractMs: dx.ms,
      });
    }
  }
  return out;
}

/** The engines' own clients load the exported files into identical empty tables (fresh databases). */
async function nativeRound(
  exported: ExportedTable[],
  servers: Servers,
  tag: string,
  label: string,
  probe?: CpuProbe,
): Promise<TableLoad[]> {
  await createTargets(servers, 'native_', tag);
  const loads: TableLoad[] = [];
  for (const { site, engine } of SITES) {
    const db = `native_${site.toLowerCase()}_${tag}`;
    const url = engine === 'postgres' ? `postgres://postgres@127.0.0.1:${servers.target.port}/${db}` : servers.maria.urlFor(db);
    const conn = await openConnector({ name: `native-${site}`, engine, url }, '.');
    try {
      const tables = exported.filter((t) => t.site === site);
      for (const t of tables) for (const ddl of t.ddl) await conn.execute(ddl);
      for (const t of tables) {
        const before = probe?.read();
        const load = await timed(async () => {
          if (engine === 'postgres') {
            return run(PSQL, [
              '-X',
              '-q',
              '-v',
              'ON_ERROR_STOP=1',
              '-d',
              url,
              '-c',
              `\\copy ${q(t.table)} (${t.columns.join(', ')}) FROM '${t.file}'`,
            ]);
          } else {
            const { out: warnings, cpu } = await run(MARIADB, [
              '--no-defaults',
              '--local-infile=1',
              '-h',
              '127.0.0.1',
              '-P',
              String(servers.maria.port),
              '-u',
              'root',
              db,
              '-e',
              `${MARIADB_SESSION}; LOAD DATA LOCAL INFILE '${t.file}' INTO TABLE \`${t.table}\` CHARACTER SET utf8mb4 (${t.columns.join(', ')}); SHOW WARNINGS;`,
            ]);
            if (warnings.trim()) throw new Error(`native LOAD DATA into ${t.table} warned: ${warnings.slice(0, 500)}`);
            return { out: warnings, cpu };
          }
        });
        const after = probe?.read();
        const [row] = await conn.query<{ n: number }>(`SELECT count(*) AS n FROM ${conn.dialect.quoteIdentifier(t.table)}`);
        if (Number(row?.n) !== t.rows) throw new Error(`native load of ${site}.${t.table}: ${row?.n} rows, expected ${t.rows}`);
        loads.push({
          site,
          table: t.table,
          rows: t.rows,
          ms: load.ms,
          cpu:
            before && after
              ? {
                  node: 0,
                  source: after.source - before.source,
                  target: after.targetPg - before.targetPg + (after.maria - before.maria),
                  client: load.value.cpu,
                }
              : undefined,
        });
      }
    } finally {
      await conn.close();
    }
  }
  await dropTargets(servers, 'native_', tag);
  console.log(`  ${label}: native clients   ${siteLine(loads)}`);
  return loads;
}

// ---------------------------------------------------------------------------------------------
// Main

const unavailable = postgresUnavailableReason() ?? mariaDbUnavailableReason();
if (unavailable) {
  console.error(`bench:deploy needs PostgreSQL and MariaDB servers: ${unavailable}`);
  process.exit(1);
}

const started = performance.now();
const loadAtStart = os.loadavg();
try {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ddbkit-bench-deploy-'));
  cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));
  timeFile = path.join(tmp, 'time.txt');
  console.log(
    `bench:deploy — scale ${SCALE}, ${ROUNDS} round${ROUNDS === 1 ? '' : 's'}; ${os.cpus().length} CPUs, load average ${loadAtStart.map((l) => l.toFixed(1)).join(' ')}`,
  );
  console.log('starting a source PostgreSQL, a target PostgreSQL and a target MariaDB…');
  const [sourceServer, target, maria] = await startServers<[PostgresServer, PostgresServer, MariaDbServer]>(
    startPostgres,
    startPostgres,
    startMariaDb,
  );
  const servers: Servers = { source: sourceServer, target, maria };
  const probe = process.platform === 'linux' ? await cpuProbe(servers) : undefined;

  // Memory at a small scale: one deploy.
  let small: { scale: number; rows: number; round: DeployRound } | undefined;
  if (MEM_SCALE > 0 && MEM_SCALE !== SCALE) {
    const tag = `s${String(MEM_SCALE).replace(/\W/g, '_')}`;
    const gen = await generateSource(servers, MEM_SCALE, tag);
    await createTargets(servers, '', tag);
    const design = parseDesign(designYaml(gen.url, target, maria, tag), path.join(tmp, 'design.yaml'));
    const source = await openSource(gen.url, tmp);
    try {
      const round = await deployRound(design, source, 'memory run');
      small = { scale: MEM_SCALE, rows: round.tables.reduce((a, t) => a + t.rows, 0), round };
    } finally {
      await source.close();
    }
    await dropTargets(servers, '', tag);
  }

  // The main scale.
  const gen = await generateSource(servers, SCALE, 'main');
  const source = await openSource(gen.url, tmp);
  try {
    const rounds: Array<{ ddbkit: DeployRound; native: TableLoad[] }> = [];
    let exported: ExportedTable[] = [];
    let verify: { ms: number; ok: boolean; memory: MemorySampler } | undefined;
    for (let r = 1; r <= ROUNDS; r++) {
      const tag = `r${r}`;
      await createTargets(servers, '', tag);
      const design = parseDesign(designYaml(gen.url, target, maria, tag), path.join(tmp, 'design.yaml'));
      const ddbkit = await deployRound(design, source, `round ${r}`, probe);
      if (r === 1) {
        // Verification of the first round's deployment, timed on its own.
        const resolved = resolveDesign(design, source.catalog);
        const connectors = new Map<string, SiteConnector>();
        try {
          for (const s of design.sites) connectors.set(s.name, await openConnector(s, tmp));
          const memory = new MemorySampler(200);
          const v = await timed(() => verifyDeployment(resolved, source.connector, connectors)).finally(() => memory.stop());
          verify = { ms: v.ms, ok: v.value.ok, memory };
          console.log(
            `  round 1: verify (counts + checksums of every fragment and rebuilt relation) ${secs(v.ms)}: ${v.value.ok ? 'ok' : 'FAILED'}`,
          );
        } finally {
          for (const c of connectors.values()) await c.close().catch(() => {});
        }
        console.log('  exporting every fragment to a file with psql \\copy for the native loads…');
        exported = await exportFragments(design, source, gen.url, tmp);
      }
      await dropTargets(servers, '', tag);
      const native = await nativeRound(exported, servers, tag, `round ${r}`, probe);
      rounds.push({ ddbkit, native });
    }
    report({ gen, rounds, exported, verify: verify!, small });
  } finally {
    await source.close();
  }
} catch (e) {
  console.error(`\nbench:deploy failed: ${(e as Error).stack ?? String(e)}`);
  process.exitCode = 1;
} finally {
  await finish(started);
}

// ---------------------------------------------------------------------------------------------
// Report

function report(r: {
  gen: { counts: Record<string, number>; rows: number; ms: number };
  rounds: Array<{ ddbkit: DeployRound; native: TableLoad[] }>;
  exported: ExportedTable[];
  verify: { ms: number; ok: boolean; memory: MemorySampler };
  small: { scale: number; rows: number; round: DeployRound } | undefined;
}): void {
  const rate = (rows: number, ms: number): number => rows / (ms / 1000);
  const sum = (t: TableLoad[], site?: string) => {
    const x = site ? t.filter((l) => l.site === site) : t;
    return { rows: x.reduce((a, l) => a + l.rows, 0), ms: x.reduce((a, l) => a + l.ms, 0) };
  };
  const best = (pick: (i: number) => number): number => Math.min(...r.rounds.map((_, i) => pick(i)));

  console.log(
    `\n=== bench:deploy, scale ${SCALE}: ${fmt(r.gen.rows)} source rows (order_item ${fmt(r.gen.counts.order_item ?? 0)}), best of ${r.rounds.length} round${r.rounds.length === 1 ? '' : 's'} ===`,
  );
  console.log('ddbkit = deploy() end to end per site: source cursor → engine bulk path (verify off)');
  console.log(
    'native = the engine client loading the same rows from a file: psql \\copy FROM / mariadb LOAD DATA LOCAL INFILE\n',
  );
  console.log(
    `${'site'.padEnd(9)}${'engine'.padEnd(10)}${'rows'.padStart(11)}${'ddbkit s'.padStart(10)}${'ddbkit rows/s'.padStart(15)}${'native s'.padStart(10)}${'native rows/s'.padStart(15)}${'ratio'.padStart(8)}   every round`,
  );
  let met = true;
  const lines: Array<[string, string, string | undefined]> = [
    ...SITES.map(({ site, engine }) => [site, engine, site] as [string, string, string]),
    ['all', '', undefined],
  ];
  for (const [name, engine, site] of lines) {
    const rows = sum(r.rounds[0]!.ddbkit.tables, site).rows;
    const d = best((i) => sum(r.rounds[i]!.ddbkit.tables, site).ms);
    const n = best((i) => sum(r.rounds[i]!.native, site).ms);
    const every = r.rounds.map((x) => pct(sum(x.native, site).ms / sum(x.ddbkit.tables, site).ms)).join(' ');
    if (site) met &&= n / d >= GOAL;
    console.log(
      `${name.padEnd(9)}${engine.padEnd(10)}${fmt(rows).padStart(11)}${(d / 1000).toFixed(2).padStart(10)}${fmt(rate(rows, d)).padStart(15)}${(n / 1000).toFixed(2).padStart(10)}${fmt(rate(rows, n)).padStart(15)}${pct(n / d).padStart(8)}   ${every}`,
    );
  }
  console.log(`goal: ddbkit ≥ ${pct(GOAL)} of native on every site (best vs best) — ${met ? 'MET' : 'NOT MET'}`);

  console.log('\nper table, best of the rounds (the 8 biggest):');
  console.log(`  ${''.padEnd(26)}${'rows'.padStart(10)}  ddbkit s | its extraction alone | native s | ratio`);
  const bigTables = [...r.exported].sort((a, b) => b.rows - a.rows).slice(0, 8);
  for (const t of bigTables) {
    const pick = (loads: TableLoad[]) => loads.find((l) => l.site === t.site && l.table === t.table)!.ms;
    const d = best((i) => pick(r.rounds[i]!.ddbkit.tables));
    const n = best((i) => pick(r.rounds[i]!.native));
    console.log(
      `  ${`${t.site}.${t.table}`.padEnd(26)}${fmt(t.rows).padStart(10)}  ${(d / 1000).toFixed(2).padStart(8)} | ${(t.ddbkitExtractMs / 1000).toFixed(2).padStart(6)} s (${pct(t.ddbkitExtractMs / d).padStart(5)}) | ${(n / 1000).toFixed(2).padStart(8)} | ${pct(n / d).padStart(5)}`,
    );
  }

  console.log("\nsource extraction of each site's fragments (measured once; not in the native figure):");
  for (const { site } of SITES) {
    const t = r.exported.filter((x) => x.site === site);
    const rows = t.reduce((a, x) => a + x.rows, 0);
    const dx = t.reduce((a, x) => a + x.ddbkitExtractMs, 0);
    const nx = t.reduce((a, x) => a + x.nativeExtractMs, 0);
    const d = best((i) => sum(r.rounds[i]!.ddbkit.tables, site).ms);
    console.log(
      `  ${site.padEnd(9)} ddbkit cursor drained ${secs(dx).padStart(8)} = ${fmt(rate(rows, dx)).padStart(9)} rows/s (${pct(dx / d)} of its best deploy time)   psql \\copy (SELECT …) TO file ${secs(nx).padStart(8)}`,
    );
  }

  const d1 = r.rounds.map((x) => x.ddbkit.deployMs);
  console.log(
    `\ndeploy() wall: ${d1.map(secs).join(', ')} (includes planning counts, DDL, links and ${r.rounds[0]!.ddbkit.views} views on the decision site)`,
  );
  console.log(
    `verify on its own (round 1): ${secs(r.verify.ms)} — ${r.verify.ok ? 'ok' : 'FAILED'}; source generation ${secs(r.gen.ms)}`,
  );

  if (r.rounds.every((x) => x.ddbkit.tables.every((t) => t.cpu) && x.native.every((t) => t.cpu))) {
    // Summed over every round: CPU seconds barely depend on how busy the machine is.
    const total = (loads: TableLoad[], site: string) => {
      const c: Cpu = { node: 0, source: 0, target: 0, client: 0 };
      for (const l of loads.filter((x) => x.site === site))
        for (const k of Object.keys(c) as Array<keyof Cpu>) c[k] += l.cpu![k] || 0;
      return c;
    };
    const n = r.rounds.length;
    console.log(
      `\nCPU seconds per site, mean of the ${n} round${n === 1 ? '' : 's'} (robust to a busy machine, unlike wall time):`,
    );
    console.log(
      `  ${'site'.padEnd(9)}${'ddbkit: node'.padStart(13)}${'source'.padStart(8)}${'target'.padStart(8)}${'sum'.padStart(7)}   ${'native: client'.padStart(14)}${'target'.padStart(8)}${'sum'.padStart(7)}   target CPU ddbkit/native`,
    );
    for (const { site } of SITES) {
      const d = { node: 0, source: 0, target: 0, client: 0 };
      const v = { node: 0, source: 0, target: 0, client: 0 };
      for (const x of r.rounds) {
        const a = total(x.ddbkit.tables, site);
        const b = total(x.native, site);
        for (const k of Object.keys(d) as Array<keyof Cpu>) {
          d[k] += a[k] / n;
          v[k] += b[k] / n;
        }
      }
      const f = (x: number, w: number) => x.toFixed(2).padStart(w);
      console.log(
        `  ${site.padEnd(9)}${f(d.node, 13)}${f(d.source, 8)}${f(d.target, 8)}${f(d.node + d.source + d.target, 7)}   ${f(v.client, 14)}${f(v.target, 8)}${f(v.client + v.target, 7)}   ${(d.target / v.target).toFixed(2)}×`,
      );
    }
  }

  console.log('\nmemory of this process during deploy() (sampled every 200 ms; baseline after GC just before):');
  const memLine = (scale: number, rows: number, m: MemorySampler, ms: number) =>
    console.log(
      `  scale ${String(scale).padEnd(6)} ${fmt(rows).padStart(10)} rows  RSS ${mb(m.baseline.rss)} → peak ${mb(m.peakRss)} (+${mb(m.peakRss - m.baseline.rss)})   heapUsed ${mb(m.baseline.heapUsed)} → peak ${mb(m.peakHeap)}, live after full GCs ≤ ${mb(m.peakLiveHeap)}   ${m.samples} samples over ${secs(ms)}`,
    );
  if (r.small) memLine(r.small.scale, r.small.rows, r.small.round.memory, r.small.round.deployMs);
  for (const x of r.rounds) memLine(SCALE, sum(x.ddbkit.tables).rows, x.ddbkit.memory, x.ddbkit.deployMs);
  const vm = r.verify.memory;
  console.log(
    `  verify (scale ${SCALE}, for comparison): RSS ${mb(vm.baseline.rss)} → peak ${mb(vm.peakRss)}   heapUsed ${mb(vm.baseline.heapUsed)} → peak ${mb(vm.peakHeap)}, live after full GCs ≤ ${mb(vm.peakLiveHeap)}`,
  );
  if (!r.verify.ok) process.exitCode = 1;
}
