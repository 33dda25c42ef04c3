/**
 * Recovery of two-phase commits a coordinator left unfinished (it crashed, or a site was
 * unreachable when the decision was sent). Every site with two-phase commit is asked for its
 * prepared transactions (`pg_prepared_xacts`, `XA RECOVER`); each of this design's is finished as
 * the decision log says: commit logged → commit; a last resource that recorded the commit →
 * commit; no decision → roll back. Transactions of a coordinator process still running are left
 * alone.
 */
import type { Design } from '../design/load.js';
import type { SitePool } from '../engines/pool.js';
import { COMMITTING, DECISIONS_TABLE } from './transaction.js';
import type { DecisionLog, LogRecord } from './txlog.js';
import { processAlive } from '../util/process.js';

export interface RecoveryAction {
  site: string;
  gid: string;
  action: 'committed' | 'rolled back' | 'left (its coordinator is still running)' | 'failed';
  reason: string;
}

export interface RecoveryReport {
  actions: RecoveryAction[];
  /** Sites that could not be asked (unreachable): their in-doubt transactions wait for the next run. */
  unreachable: Array<{ site: string; error: string }>;
}

export interface RecoveryEnv {
  design: Design;
  pool(site: string): SitePool;
  log: DecisionLog;
  gidPrefix: string;
}

/** Engines that can hold prepared transactions. */
const TWO_PHASE_ENGINES = new Set(['postgres', 'mariadb', 'mysql']);

export async function recover(env: RecoveryEnv): Promise<RecoveryReport> {
  const records = await env.log.read();
  const report: RecoveryReport = { actions: [], unreachable: [] };
  const lastResourceVerdicts = new Map<string, Promise<boolean>>();
  const stillInDoubt = new Set<string>();

  for (const site of env.design.sites.filter((s) => TWO_PHASE_ENGINES.has(s.engine))) {
    const pool = env.pool(site.name);
    let connector;
    try {
      connector = await pool.acquire();
    } catch (e) {
      report.unreachable.push({ site: site.name, error: (e as Error).message });
      for (const [gid, r] of records) if (r.participants?.includes(site.name) && !finished(r)) stillInDoubt.add(gid);
      continue;
    }
    try {
      const prepared = (await connector.listPrepared()).filter((p) => p.gid.startsWith(env.gidPrefix));
      for (const p of prepared) {
        const gid = p.gid.replace(/\.\d+$/, '');
        let record = records.get(gid);
        if (COMMITTING.has(gid)) {
          // This process is committing it right now (its own transaction, not a crashed run).
          stillInDoubt.add(gid);
          report.actions.push({
            site: site.name,
            gid,
            action: 'left (its coordinator is still running)',
            reason: 'this process',
          });
          continue;
        }
        // It may have been decided since the log was read (this process finished it, a site left
        // unfinished): read the log again before taking "no decision" for an answer.
        if (record === undefined || record.state === 'preparing') record = (await env.log.read()).get(gid) ?? record;
        // A coordinator still running may yet decide; once a decision is logged, carrying it out is
        // safe whoever does it (a commit is never turned into a rollback, nor the reverse).
        const decided = record?.state === 'commit' || record?.state === 'done' || record?.state === 'abort';
        if (!decided && record?.pid !== undefined && record.pid !== process.pid && processAlive(record.pid)) {
          stillInDoubt.add(gid);
          report.actions.push({
            site: site.name,
            gid,
            action: 'left (its coordinator is still running)',
            reason: `process ${record.pid}`,
          });
          continue;
        }
        let commit = false;
        let reason = 'no commit decision was logged';
        if (record?.state === 'commit' || record?.state === 'done') {
          commit = true;
          reason = 'the log holds the commit decision';
        } else if (record?.lastResource) {
          let verdict = lastResourceVerdicts.get(gid);
          if (!verdict) {
            verdict = lastResourceCommitted(env, record.lastResource, gid);
            lastResourceVerdicts.set(gid, verdict);
          }
          try {
            commit = await verdict;
            reason = commit
              ? `the last participant ${record.lastResource} committed it`
              : `the last participant ${record.lastResource} did not commit it`;
          } catch (e) {
            stillInDoubt.add(gid);
            report.actions.push({
              site: site.name,
              gid,
              action: 'failed',
              reason: `cannot ask ${record.lastResource}: ${(e as Error).message}`,
            });
            continue;
          }
        }
        try {
          if (commit) await connector.commitPrepared(p.gid);
          else await connector.rollbackPrepared(p.gid);
          report.actions.push({ site: site.name, gid, action: commit ? 'committed' : 'rolled back', reason });
          if (commit && record?.state !== 'commit' && record?.state !== 'done')
            await env.log.append({ gid, state: 'commit' }, true);
        } catch (e) {
          stillInDoubt.add(gid);
          report.actions.push({ site: site.name, gid, action: 'failed', reason: (e as Error).message });
        }
      }
    } catch (e) {
      report.unreachable.push({ site: site.name, error: (e as Error).message });
      for (const [gid, r] of records) if (r.participants?.includes(site.name) && !finished(r)) stillInDoubt.add(gid);
    } finally {
      pool.release(connector);
    }
  }
  // Transactions of running coordinators stay in the log; so do those a site could not settle.
  for (const [gid, r] of records)
    if (r.pid !== undefined && r.pid !== process.pid && processAlive(r.pid) && !finished(r)) stillInDoubt.add(gid);
  if (records.size > 0) await env.log.compact(stillInDoubt);
  return report;
}

function finished(r: LogRecord): boolean {
  return r.state === 'done' || r.state === 'abort';
}

/** Whether the log names transactions that may be unfinished (cheap: reads the log file only). */
export async function needsRecovery(log: DecisionLog): Promise<boolean> {
  for (const r of (await log.read()).values()) {
    if (finished(r)) continue;
    if (r.pid !== undefined && r.pid !== process.pid && processAlive(r.pid)) continue;
    return true;
  }
  return false;
}

async function lastResourceCommitted(env: RecoveryEnv, site: string, gid: string): Promise<boolean> {
  const pool = env.pool(site);
  const c = await pool.acquire();
  try {
    const q = (n: string) => c.dialect.quoteIdentifier(n);
    try {
      const rows = await c.query(`SELECT 1 AS found FROM ${q(DECISIONS_TABLE)} WHERE ${q('gid')} = '${gid}'`);
      return rows.length > 0;
    } catch (e) {
      // No decisions table: that site never committed a transaction as last participant.
      if (/no such table|does not exist|doesn't exist|Catalog Error/i.test((e as Error).message)) return false;
      throw e;
    }
  } finally {
    pool.release(c);
  }
}
