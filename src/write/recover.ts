/**
 * Recovery of two-phase commits a coordinator left unfinished (it crashed, or a site was
 * unreachable when the decision was sent). Every site with two-phase commit is asked for its
 * prepared transactions (`pg_prepared_xacts`, `XA RECOVER`); each of this design's is finished as
 * the decision log says: commit logged → commit; a last resource that recorded the commit →
 * commit; no decision → roll back. Transactions of a coordinator process still running are left
 * alone — this process's own included, even one it finishes between the listing and the action.
 *
 * A recovery can still meet a transaction that another session (a coordinator in another process
 * carrying out its logged decision, another recovery) finishes between the listing and the
 * action: the site then answers "does not exist" (PostgreSQL 42704, MariaDB XAER_NOTA) or "busy".
 * When the site's list no longer holds it, it was finished as decided — every finisher follows the
 * log, and a logged decision never changes — and the report says "already finished", not that
 * recovery did it.
 */
import type { Design } from '../design/load.js';
import type { SiteConnector } from '../engines/connector.js';
import type { SitePool } from '../engines/pool.js';
import { COMMITTING, DECISIONS_TABLE } from './transaction.js';
import type { DecisionLog, LogRecord } from './txlog.js';
import { processAlive } from '../util/process.js';

export interface RecoveryAction {
  site: string;
  gid: string;
  /**
   * What recovery did at the site: `committed` / `rolled back` (it finished the transaction),
   * `already finished` (another session — its coordinator, another recovery — finished it between
   * the listing and recovery's own COMMIT/ROLLBACK PREPARED), `left …` (its coordinator is running),
   * `failed` (still in doubt: the next run tries again).
   */
  action: 'committed' | 'rolled back' | 'already finished' | 'left (its coordinator is still running)' | 'failed';
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
  // Begun before any site is listed: names every transaction of this process a listing can show,
  // including those it finishes before recovery gets to them.
  const inFlight = COMMITTING.watch();
  try {
    return await recoverSites(env, inFlight.seen);
  } finally {
    inFlight.stop();
  }
}

async function recoverSites(env: RecoveryEnv, ownInFlight: (gid: string) => boolean): Promise<RecoveryReport> {
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
        // This process was committing it when the site was listed (its own transaction, not a
        // crashed run): its coordinator finishes it, or records the site it could not finish.
        const leftToThisProcess = (): void => {
          stillInDoubt.add(gid);
          report.actions.push({
            site: site.name,
            gid,
            action: 'left (its coordinator is still running)',
            reason: COMMITTING.has(gid) ? 'this process' : 'this process, which was committing it when the site was listed',
          });
        };
        if (ownInFlight(gid)) {
          leftToThisProcess();
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
        // Checked again right before acting (the log and the last participant were read since).
        if (ownInFlight(gid)) {
          leftToThisProcess();
          continue;
        }
        let action: RecoveryAction['action'] = commit ? 'committed' : 'rolled back';
        try {
          try {
            if (commit) await connector.commitPrepared(p.gid);
            else await connector.rollbackPrepared(p.gid);
          } catch (e) {
            // Finished by another session since the listing? Then it went as decided: whoever
            // finishes a transaction follows the log (commit logged → commit; none → roll back).
            if ((await stillPrepared(connector, p.gid, finishedElsewhere(e))) !== false) throw e;
            action = 'already finished';
            reason = `${reason}; another session (its coordinator or another recovery) finished it first`;
          }
          report.actions.push({ site: site.name, gid, action, reason });
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

/**
 * A site's answer when another session holds or has just finished the prepared transaction:
 * PostgreSQL "does not exist" (42704) or "is busy" (55000, its COMMIT PREPARED is running),
 * MariaDB XAER_NOTA (finished, or its owning connection is still open).
 */
function finishedElsewhere(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === '42704' || code === '55000' || code === 'ER_XAER_NOTA') return true;
  return /prepared transaction .* (does not exist|is busy)|XAER_NOTA/i.test((e as Error | null)?.message ?? '');
}

/**
 * Whether the site still lists the prepared transaction (undefined: it cannot be asked). With
 * `patient`, a transaction another session is finishing gets a few short waits to go.
 */
async function stillPrepared(c: SiteConnector, siteGid: string, patient: boolean): Promise<boolean | undefined> {
  for (let attempt = 0; ; attempt++) {
    let listed: boolean;
    try {
      listed = (await c.listPrepared()).some((p) => p.gid === siteGid);
    } catch {
      return undefined;
    }
    if (!listed || !patient || attempt >= 4) return listed;
    await new Promise((r) => setTimeout(r, 25 * 2 ** attempt));
  }
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
