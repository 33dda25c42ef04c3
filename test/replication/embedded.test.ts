/**
 * Asynchronous replication between embedded engines (issue 5, section 3): a SQLite or PGlite
 * primary captures its changes with triggers into ddbkit_outbox; `sync` applies them to replicas
 * on the other engines exactly once; status shows the lag before and none after.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy } from '../../src/deploy/deploy.js';
import { openSites } from '../../src/deploy/sites.js';
import { deploymentStatus } from '../../src/deploy/status.js';
import type { Design } from '../../src/design/load.js';
import { type ResolvedDesign, resolveDesign } from '../../src/design/resolve.js';
import type { SiteConnector } from '../../src/engines/connector.js';
import { openSource } from '../../src/engines/source.js';
import { primarySite, replicationLag, syncReplicas } from '../../src/replication/index.js';
import { AWKWARD, PRIMARY_CHANGES, fragmentRows, primaryWrites, withSite, writeDesign } from './support.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ddbkit-async-'));
});
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const SITES = {
  LITE: { engine: 'sqlite', url: 'file:./sites/lite.db' },
  PGL: { engine: 'pglite', url: 'file:./sites/pgl', decision: true },
  DUCK: { engine: 'duckdb', url: 'file:./sites/duck.duckdb' },
} as const;

async function closeAll(connectors: Map<string, SiteConnector>): Promise<void> {
  await Promise.all([...connectors.values()].map((c) => c.close()));
}

/** Every replica of every fragment holds exactly the primary's rows. */
async function expectReplicasEqualPrimary(resolved: ResolvedDesign, connectors: Map<string, SiteConnector>): Promise<void> {
  for (const f of resolved.fragments) {
    const cols = f.relation.columns.filter((c) => f.columns.includes(c.name));
    const read = (site: string) =>
      fragmentRows(
        connectors.get(site)!,
        f.name.toLowerCase(),
        cols.map((c) => c.type),
        cols.map((c) => c.name),
      );
    const primary = await read(primarySite(f).name);
    for (const s of f.sites.slice(1))
      expect({ fragment: f.name, site: s.name, rows: await read(s.name) }).toEqual({
        fragment: f.name,
        site: s.name,
        rows: primary,
      });
  }
}

for (const [primary, replicas] of [
  ['LITE', ['PGL', 'DUCK']],
  ['PGL', ['LITE', 'DUCK']],
] as const) {
  describe(`async replication: ${SITES[primary].engine} primary → ${replicas.map((r) => SITES[r].engine).join(' + ')}`, () => {
    let design: Design;
    let resolved: ResolvedDesign;

    beforeAll(async () => {
      design = await writeDesign(path.join(tmp, primary), SITES, [primary, ...replicas]);
      const source = await openSource(design.source, design.dir);
      try {
        resolved = resolveDesign(design, source.catalog);
        const result = await deploy(design, source);
        expect(result.verification?.ok).toBe(true);
      } finally {
        await source.close();
      }
    });

    it('deploy creates the outbox and triggers at the primary and the applied seqs at the replicas', async () => {
      const tables = async (site: string) =>
        withSite(design, site, async (c) => (await c.introspect()).relations.map((r) => r.name.toLowerCase()).sort());
      expect((await tables(primary)).filter((t) => t.startsWith('ddbkit_'))).toEqual(
        SITES[primary].engine === 'sqlite' ? ['ddbkit_outbox'] : ['ddbkit_outbox', 'ddbkit_outbox_seq'],
      );
      for (const r of replicas) expect((await tables(r)).filter((t) => t.startsWith('ddbkit_'))).toEqual(['ddbkit_applied']);
      const status = await deploymentStatus(resolved, design.dir);
      expect(status.replicas.map((r) => [r.fragment, r.inStep, r.lag?.map((l) => l.changes)])).toEqual([
        ['ITEM_ALL', true, [0, 0]],
        ['PAIR_ALL', true, [0, 0]],
      ]);
    });

    it('writes at the primary show as lag, sync applies them exactly once, replicas equal the primary', async () => {
      await withSite(design, primary, async (c) => {
        for (const sql of primaryWrites(SITES[primary].engine)) await c.execute(sql);
      });
      const before = await deploymentStatus(resolved, design.dir);
      const item = before.replicas.find((r) => r.fragment === 'ITEM_ALL')!;
      expect(item.inStep).toBe(false);
      expect(item.behind).toBe(true);
      expect(item.detail).toMatch(/behind the primary/);
      expect(item.lag!.map((l) => [l.replica, l.mechanism, l.changes])).toEqual(replicas.map((r) => [r, 'outbox', 6]));
      for (const l of item.lag!) expect(l.seconds).toBeGreaterThanOrEqual(0);
      expect(before.replicas.find((r) => r.fragment === 'PAIR_ALL')!.lag!.map((l) => l.changes)).toEqual([3, 3]);

      const connectors = await openSites(resolved, design.dir);
      try {
        // Small batches: several transactions per replica.
        const first = await syncReplicas(resolved, connectors, { batchSize: 4 });
        expect(first.pairs.map((p) => [p.replica, p.changes])).toEqual(replicas.map((r) => [r, PRIMARY_CHANGES]));
        expect(first.pruned[primary]).toBe(PRIMARY_CHANGES);
        await expectReplicasEqualPrimary(resolved, connectors);
        // The awkward row, read back at each replica.
        for (const r of replicas) {
          const [row] = await connectors
            .get(r)!
            .query<Record<string, unknown>>('SELECT id, note, code FROM item_all WHERE id = 100');
          expect(row).toEqual({ id: 100, note: AWKWARD, code: 'new' });
          const ids = await connectors.get(r)!.query<{ id: unknown }>('SELECT id FROM item_all ORDER BY id');
          expect(ids.map((x) => Number(x.id))).toEqual([2, 4, 100, 101, 1003]);
        }
        const second = await syncReplicas(resolved, connectors);
        expect(second.pairs.map((p) => p.changes)).toEqual([0, 0]);
        const lag = await replicationLag(resolved, connectors);
        expect(lag.map((l) => [l.fragment, l.replica, l.changes, l.seconds])).toEqual(
          ['ITEM_ALL', 'PAIR_ALL'].flatMap((f) => replicas.map((r) => [f, r, 0, 0])),
        );
      } finally {
        await closeAll(connectors);
      }
      const after = await deploymentStatus(resolved, design.dir);
      expect(after.replicas.map((r) => [r.fragment, r.inStep, r.detail])).toEqual([
        ['ITEM_ALL', true, 'identical on every replica'],
        ['PAIR_ALL', true, 'identical on every replica'],
      ]);
    });

    // Only where a SQLite replica takes part (it is given a refusing trigger): defined there alone, not skipped elsewhere.
    if ((replicas as readonly string[]).includes('LITE'))
      it('a change the replica refuses stops sync with nothing half-applied; the next sync applies each change once', async () => {
        const lite = 'LITE'; // the SQLite replica is given a trigger that refuses a value
        await withSite(design, lite, (c) =>
          c.execute(
            `CREATE TRIGGER boom BEFORE INSERT ON item_all WHEN NEW.code = 'boom' BEGIN SELECT RAISE(ABORT, 'refused here'); END`,
          ),
        );
        await withSite(design, primary, async (c) => {
          await c.execute(`INSERT INTO item_all (id, code) VALUES (9001, 'fine')`);
          await c.execute(`INSERT INTO item_all (id, code) VALUES (9002, 'boom')`);
          await c.execute(`INSERT INTO item_all (id, code) VALUES (9003, 'fine too')`);
        });
        let connectors = await openSites(resolved, design.dir);
        try {
          await expect(syncReplicas(resolved, connectors, { batchSize: 1 })).rejects.toThrow(
            /site LITE \(sqlite\).*refused here/,
          );
          const lag = await replicationLag(resolved, connectors);
          expect(lag.filter((l) => l.fragment === 'ITEM_ALL').map((l) => [l.replica, l.changes])).toEqual(
            replicas.map((r) => [r, r === lite ? 2 : 3]),
          );
          expect(await connectors.get(lite)!.query('SELECT id FROM item_all WHERE id > 9000')).toEqual([{ id: 9001 }]);
        } finally {
          await closeAll(connectors);
        }
        await withSite(design, lite, (c) => c.execute('DROP TRIGGER boom'));
        connectors = await openSites(resolved, design.dir);
        try {
          const again = await syncReplicas(resolved, connectors);
          expect(again.pairs.map((p) => [p.replica, p.changes])).toEqual(replicas.map((r) => [r, r === lite ? 2 : 3]));
          await expectReplicasEqualPrimary(resolved, connectors);
        } finally {
          await closeAll(connectors);
        }
      });

    it('re-running deploy keeps the replication state', async () => {
      // Writes at the primary make it differ from the source: deploy refills it (and its replicas) from the source.
      const source = await openSource(design.source, design.dir);
      try {
        await deploy(design, source, { verify: false });
      } finally {
        await source.close();
      }
      const connectors = await openSites(resolved, design.dir);
      try {
        await syncReplicas(resolved, connectors);
        await expectReplicasEqualPrimary(resolved, connectors);
        expect((await replicationLag(resolved, connectors)).every((l) => l.changes === 0)).toBe(true);
      } finally {
        await closeAll(connectors);
      }
    });
  });
}
