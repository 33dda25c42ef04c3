/**
 * `ddbkit loadtest`: bring the design's sites to the source's data (deploying what is missing,
 * refilling what a previous run changed), run the workload with N concurrent users through one
 * distributed database, then check the invariants, that nothing was lost, and that replicas are
 * identical.
 */
import { UserError } from '../design/errors.js';
import { loadDesign } from '../design/load.js';
import { resolveDesign } from '../design/resolve.js';
import { deploy } from '../deploy/deploy.js';
import { deploymentStatus } from '../deploy/status.js';
import { openSource } from '../engines/source.js';
import { openDistributed } from '../query/distributed.js';
import { isRetryable } from '../write/errors.js';
import {
  type CheckResult,
  checkInvariants,
  checkNothingLost,
  checkReplicas,
  countRows,
  invariantsBefore,
  writtenRelations,
} from './checks.js';
import { preflight } from './preflight.js';
import { type RunResult, type WriteDatabase, preparePools, runWorkload } from './run.js';
import type { Workload } from './workload.js';

export interface LoadTestOptions {
  users: number;
  ops: number;
  seed: number;
  /** Where `file:` site URLs resolve (default: the design's folder). */
  sitesDir?: string;
  /** Bring every site back to the source's data first (default); false runs on the data as it is. */
  reset?: boolean;
  maxAttempts?: number;
  /** Sessions per site the distributed database may open (ddbkit's default: 16), and its DuckDB coordinators (4). */
  sessions?: number;
  coordinators?: number;
  /** Messages about the preparation (deploying, refilling). */
  note?: (text: string) => void;
  onProgress?: (done: number, total: number) => void;
}

export interface PreparedSites {
  /** What deploy did: tables created, refilled, already equal to the source. */
  created: number;
  refilled: number;
  unchanged: number;
  reset: boolean;
}

export interface LoadTestReport {
  design: { name: string; file: string; sites: Array<{ name: string; engine: string }>; centralized: boolean };
  workload: { name: string; file: string };
  prepared: PreparedSites;
  run: RunResult;
  checks: CheckResult[];
  ok: boolean;
}

/**
 * Refuses a workload that cannot commit on the design (see preflight.ts), then deploys the design from
 * its source (creating what is missing, refilling what differs), or checks it is deployed.
 */
export async function prepareSites(designFile: string, workload: Workload, options: LoadTestOptions): Promise<PreparedSites> {
  const design = await loadDesign(designFile);
  const sitesDir = options.sitesDir ?? design.dir;
  const source = await openSource(design.source, design.dir);
  try {
    const problems = preflight(resolveDesign(design, source.catalog), workload);
    if (problems.length > 0) throw new UserError(problems.join('\n'));
    if (options.reset === false) {
      const status = await deploymentStatus(resolveDesign(design, source.catalog), sitesDir);
      const missing = status.sites.filter((s) => !s.reachable || s.tables.some((t) => !t.present));
      if (missing.length > 0)
        throw new UserError(
          `${design.file}: site${missing.length > 1 ? 's' : ''} ${missing.map((s) => s.site).join(', ')} ${missing.length > 1 ? 'are' : 'is'} not deployed: run \`ddbkit deploy ${designFile}${options.sitesDir ? ` --sites-dir ${options.sitesDir}` : ''}\` first, or leave out --no-reset (loadtest then deploys it)`,
        );
      return { created: 0, refilled: 0, unchanged: status.sites.reduce((a, s) => a + s.tables.length, 0), reset: false };
    }
    options.note?.(`preparing ${design.name}: every site to the source's data (deploy)…`);
    const result = await deploy(design, source, { sitesDir, verify: true });
    if (result.verification && !result.verification.ok)
      throw new UserError(
        `${design.file}: the deployment does not match the source after deploy: run \`ddbkit verify ${designFile}\``,
      );
    const count = (a: string) => result.loaded.filter((l) => l.action === a).length;
    return { created: count('created'), refilled: count('refilled'), unchanged: count('unchanged'), reset: true };
  } finally {
    await source.close();
  }
}

export async function loadTest(designFile: string, workload: Workload, options: LoadTestOptions): Promise<LoadTestReport> {
  const prepared = await prepareSites(designFile, workload, options);
  const db = await openDistributed(designFile, {
    ...(options.sitesDir ? { sitesDir: options.sitesDir } : {}),
    ...(options.sessions ? { maxSessions: options.sessions } : {}),
    ...(options.coordinators ? { coordinators: options.coordinators } : {}),
  });
  const wdb: WriteDatabase = db;
  let run: RunResult;
  const checks: CheckResult[] = [];
  try {
    const pools = await preparePools(wdb, workload);
    const before = await invariantsBefore(wdb, workload);
    const relations = writtenRelations(workload);
    const countsBefore = await countRows(wdb, relations);
    options.note?.(`running ${workload.name}: ${options.users} users × ${options.ops} transactions on ${db.design.name}…`);
    run = await runWorkload(wdb, workload, pools, {
      users: options.users,
      ops: options.ops,
      seed: options.seed,
      isRetryable,
      ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    checks.push(...(await checkInvariants(wdb, workload, run, before)));
    checks.push(...checkNothingLost(countsBefore, await countRows(wdb, relations), run));
  } finally {
    await db.close();
  }
  // After close: file-based sites cannot be opened twice by one process.
  checks.push(...(await checkReplicas(db.resolved, db.sitesDir)));
  const sites = db.design.sites.map((s) => ({ name: s.name, engine: s.engine }));
  return {
    design: { name: db.design.name, file: db.design.file, sites, centralized: sites.length === 1 },
    workload: { name: workload.name, file: workload.file },
    prepared,
    run,
    checks,
    ok: run.errors === 0 && checks.every((c) => c.ok),
  };
}
