/**
 * Recovery racing the sessions that finish the same prepared transactions, with sites faked (no
 * servers): a coordinator of this process that finishes its transaction between recovery's
 * listing and recovery's action, and another session (a coordinator elsewhere, another recovery)
 * that does. Recovery must leave the first alone and report the second as already finished, never
 * as a failure nor as its own doing. (test/write/faults.test.ts runs the same race on real servers.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Design } from '../../src/design/load.js';
import type { Engine } from '../../src/design/schema.js';
import { SiteError, type SiteConnector } from '../../src/engines/connector.js';
import type { SitePool } from '../../src/engines/pool.js';
import { recover } from '../../src/write/recover.js';
import { COMMITTING } from '../../src/write/transaction.js';
import { DecisionLog } from '../../src/write/txlog.js';

const PREFIX = 'ddbkit_t_';

/** A site holding prepared transactions; `afterListing` runs once, right after the first listing. */
class FakeSite {
  readonly prepared = new Set<string>();
  readonly calls: string[] = [];
  afterListing?: () => void;
  /** Set to make COMMIT/ROLLBACK PREPARED fail this way (the transaction staying prepared). */
  failWith?: Error;

  constructor(
    readonly name: string,
    readonly engine: Engine,
  ) {}

  /** What the engine answers for a transaction it does not hold. */
  missing(gid: string): SiteError {
    return this.engine === 'postgres'
      ? new SiteError(this.name, this.engine, `statement failed: prepared transaction with identifier "${gid}" does not exist`, {
          code: '42704',
        })
      : new SiteError(this.name, this.engine, 'query failed: XAER_NOTA: Unknown XID', { code: 'ER_XAER_NOTA' });
  }

  connector(): SiteConnector {
    const finish = async (what: string, gid: string) => {
      this.calls.push(`${what} ${gid}`);
      if (this.failWith) throw this.failWith;
      if (!this.prepared.delete(gid)) throw this.missing(gid);
    };
    return {
      engine: this.engine,
      listPrepared: async () => {
        const listed = [...this.prepared].map((gid) => ({ gid }));
        const hook = this.afterListing;
        this.afterListing = undefined;
        hook?.();
        return listed;
      },
      commitPrepared: (gid: string) => finish('commit', gid),
      rollbackPrepared: (gid: string) => finish('rollback', gid),
    } as unknown as SiteConnector;
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function setup(...sites: FakeSite[]) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ddbkit-recover-'));
  dirs.push(dir);
  const log = DecisionLog.forDesign(dir, 'd');
  const design = { sites: sites.map((s) => ({ name: s.name, engine: s.engine })) } as unknown as Design;
  const pools = new Map(
    sites.map((s) => [s.name, { acquire: async () => s.connector(), release: () => {} } as unknown as SitePool]),
  );
  const run = async () => {
    const report = await recover({ design, pool: (s) => pools.get(s)!, log, gidPrefix: PREFIX });
    return report.actions.map((a) => `${a.site}: ${a.action} (${a.reason})`);
  };
  return { log, run };
}

describe('recovery racing the sessions that finish the same transaction', () => {
  it.each(['commit', 'abort'] as const)(
    'a transaction this process finishes (%s) between the listing and the action is left to it',
    async (decision) => {
      const a = new FakeSite('A', 'postgres');
      const b = new FakeSite('B', 'mariadb');
      const { log, run } = await setup(a, b);
      const gid = `${PREFIX}live${decision}`;
      // Inside its two-phase commit: logged, prepared at both sites.
      COMMITTING.add(gid);
      await log.append({ gid, state: 'preparing', participants: ['A', 'B'], pid: process.pid }, true);
      a.prepared.add(`${gid}.0`);
      b.prepared.add(`${gid}.1`);
      // Recovery lists A; then the coordinator decides, finishes both sites and leaves the set.
      a.afterListing = () => {
        void log.append({ gid, state: decision }, true);
        a.prepared.delete(`${gid}.0`);
        b.prepared.delete(`${gid}.1`);
        COMMITTING.delete(gid);
      };
      try {
        expect(await run()).toEqual([
          'A: left (its coordinator is still running) (this process, which was committing it when the site was listed)',
        ]);
      } finally {
        COMMITTING.delete(gid);
        await log.close();
      }
      expect([a.calls, b.calls]).toEqual([[], []]);
    },
  );

  it('a transaction still in flight in this process is left alone', async () => {
    const a = new FakeSite('A', 'postgres');
    const { log, run } = await setup(a);
    const gid = `${PREFIX}inflight`;
    COMMITTING.add(gid);
    try {
      await log.append({ gid, state: 'commit', pid: process.pid }, true);
      a.prepared.add(`${gid}.0`);
      expect(await run()).toEqual(['A: left (its coordinator is still running) (this process)']);
    } finally {
      COMMITTING.delete(gid);
      await log.close();
    }
    expect(a.calls).toEqual([]);
  });

  it('committed by another session first: reported as already finished, the other sites committed by recovery', async () => {
    const a = new FakeSite('A', 'postgres');
    const b = new FakeSite('B', 'mariadb');
    const { log, run } = await setup(a, b);
    const gid = `${PREFIX}decided`;
    await log.append({ gid, state: 'preparing', participants: ['A', 'B'] }, true);
    await log.append({ gid, state: 'commit' }, true);
    a.prepared.add(`${gid}.0`);
    b.prepared.add(`${gid}.1`);
    a.afterListing = () => a.prepared.delete(`${gid}.0`); // e.g. its coordinator, in another process
    expect(await run()).toEqual([
      'A: already finished (the log holds the commit decision; another session (its coordinator or another recovery) finished it first)',
      'B: committed (the log holds the commit decision)',
    ]);
    expect([a.calls, b.calls]).toEqual([[`commit ${gid}.0`], [`commit ${gid}.1`]]);
    await log.close();
  });

  it('rolled back by another recovery first (MariaDB XAER_NOTA): already finished', async () => {
    const b = new FakeSite('B', 'mariadb');
    const { log, run } = await setup(b);
    const gid = `${PREFIX}undecided`;
    await log.append({ gid, state: 'preparing', participants: ['A', 'B'] }, true);
    b.prepared.add(`${gid}.1`);
    b.afterListing = () => b.prepared.delete(`${gid}.1`);
    expect(await run()).toEqual([
      'B: already finished (no commit decision was logged; another session (its coordinator or another recovery) finished it first)',
    ]);
    await log.close();
  });

  it('busy (another session is committing it right now): waits for it to go, then already finished', async () => {
    const a = new FakeSite('A', 'postgres');
    const { log, run } = await setup(a);
    const gid = `${PREFIX}busy`;
    await log.append({ gid, state: 'commit' }, true);
    a.prepared.add(`${gid}.0`);
    a.failWith = new SiteError('A', 'postgres', `statement failed: prepared transaction with identifier "${gid}.0" is busy`, {
      code: '55000',
    });
    setTimeout(() => a.prepared.delete(`${gid}.0`), 40);
    expect(await run()).toEqual([
      'A: already finished (the log holds the commit decision; another session (its coordinator or another recovery) finished it first)',
    ]);
    await log.close();
  });

  it('an error while the site still holds the transaction is a failure: it stays in doubt', async () => {
    const a = new FakeSite('A', 'postgres');
    const { log, run } = await setup(a);
    const gid = `${PREFIX}stuck`;
    await log.append({ gid, state: 'commit' }, true);
    a.prepared.add(`${gid}.0`);
    a.failWith = new SiteError('A', 'postgres', 'statement failed: canceling statement due to lock timeout', { code: '55P03' });
    expect(await run()).toEqual(['A: failed (site A (postgres): statement failed: canceling statement due to lock timeout)']);
    expect(a.prepared.has(`${gid}.0`)).toBe(true);
    await log.close();
  });
});
