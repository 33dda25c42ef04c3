/**
 * The design side of async replication: the first listed site is the primary; a DuckDB primary
 * (no triggers) is refused when the design is loaded, naming the fragment and the site; an async
 * fragment needs a primary key; scripts carry the capture objects without any password.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateScripts } from '../../src/deploy/scripts.js';
import { DesignError } from '../../src/design/errors.js';
import { parseDesign } from '../../src/design/load.js';
import { resolveDesign } from '../../src/design/resolve.js';
import { openSource } from '../../src/engines/source.js';
import { primarySite, replicaLinks } from '../../src/replication/index.js';
import { cli, ensureBuilt } from '../deploy/support.js';
import { SOURCE_SQL } from './support.js';

let tmp: string;
beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ddbkit-async-design-'));
  writeFileSync(path.join(tmp, 'source.sql'), SOURCE_SQL);
  await ensureBuilt();
});
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function design(sites: string, fragments: string): string {
  return `name: t
source: ./source.sql
sites:
  DUCK: { engine: duckdb, url: "file:./duck.duckdb" }
  LITE: { engine: sqlite, url: "file:./lite.db" }
  MAR:  { engine: mariadb, url: "mysql://ddb:\${ASYNC_DESIGN_PW}@127.0.0.1:3306/x" }
  PG:   { engine: postgres, url: "postgres://u:\${ASYNC_DESIGN_PW}@127.0.0.1:5432/x", decision: true }
${sites}
fragments:
${fragments}`;
}

describe('async replication in the design', () => {
  it('primarySite is the first listed site', () => {
    expect(primarySite({ sites: ['B', 'A'] })).toBe('B');
    const d = parseDesign(
      design('', '  - { name: F, of: item, sites: [LITE, DUCK], replication: async }'),
      path.join(tmp, 'd.yaml'),
    );
    expect(primarySite(d.fragments[0]!)).toBe('LITE');
  });

  it('a DuckDB primary is refused when the design is loaded, naming fragment and site', () => {
    const text = design('', '  - name: ITEMS\n    of: item\n    sites: [DUCK, LITE]\n    replication: async');
    let err: unknown;
    try {
      parseDesign(text, path.join(tmp, 'd.yaml'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DesignError);
    const message = (err as Error).message;
    expect(message).toMatch(
      /d\.yaml:\d+: fragment ITEMS: replication: async makes the first listed site, DUCK \(duckdb\), the primary/,
    );
    expect(message).toMatch(/DuckDB has no triggers/);
    expect(message).toMatch(/list a site of another engine first \(e\.g\. sites: \[LITE, DUCK\]\)/);
    // Allowed: DuckDB as a replica, or as the first site of a synchronously replicated fragment.
    expect(() =>
      parseDesign(design('', '  - { name: F, of: item, sites: [LITE, DUCK], replication: async }'), 'd.yaml'),
    ).not.toThrow();
    expect(() =>
      parseDesign(design('', '  - { name: F, of: item, sites: [DUCK, LITE], replication: sync }'), 'd.yaml'),
    ).not.toThrow();
  });

  it('the CLI exits 2 with one line naming the fragment and the site', async () => {
    const file = path.join(tmp, 'duck-primary.yaml');
    writeFileSync(file, design('', '  - { name: ITEMS, of: item, sites: [DUCK, PG], replication: async }'));
    for (const command of ['validate', 'deploy', 'sync', 'status']) {
      const r = await cli([command, file]);
      expect({ command, code: r.code }).toEqual({ command, code: 2 });
      expect(r.stderr).toMatch(
        /^ddbkit: error: .*duck-primary\.yaml:\d+: fragment ITEMS: .*DUCK \(duckdb\).*list a site of another engine first \(e\.g\. sites: \[PG, DUCK\]\)\n$/,
      );
    }
  });

  it('an async fragment needs a primary key', async () => {
    writeFileSync(path.join(tmp, 'nokey.sql'), "CREATE TABLE log (at timestamp, msg text); INSERT INTO log VALUES (now(), 'x');");
    const d = parseDesign(
      design('', '  - { name: LOGS, of: log, sites: [LITE, PG], replication: async }').replace('./source.sql', './nokey.sql'),
      path.join(tmp, 'nokey.yaml'),
    );
    const source = await openSource(d.source, d.dir);
    try {
      expect(() => replicaLinks(resolveDesign(d, source.catalog))).toThrow(
        /fragment LOGS: replication: async applies changes by primary key, but log has none/,
      );
    } finally {
      await source.close();
    }
  });

  it('scripts: capture at the primary (MariaDB triggers with DELIMITER), applied seqs at the replicas, no password', async () => {
    process.env.ASYNC_DESIGN_PW = 'S3cret-not-in-scripts';
    try {
      const d = parseDesign(
        design('', '  - { name: ITEMS, of: item, sites: [MAR, LITE, DUCK, PG], replication: async }'),
        path.join(tmp, 's.yaml'),
      );
      const source = await openSource(d.source, d.dir);
      try {
        const scripts = Object.fromEntries(
          generateScripts(resolveDesign(d, source.catalog), 'test').map((s) => [s.site.name, s.sql]),
        );
        for (const sql of Object.values(scripts)) expect(sql).not.toContain('S3cret-not-in-scripts');
        expect(scripts.MAR).toMatch(/CREATE TABLE IF NOT EXISTS `ddbkit_outbox`/);
        expect(scripts.MAR).toMatch(
          /DELIMITER \$\$\nCREATE TRIGGER `ddbkit_items_ai` AFTER INSERT ON `items` FOR EACH ROW BEGIN[\s\S]*?END \$\$\nDELIMITER ;/,
        );
        for (const site of ['LITE', 'DUCK', 'PG']) {
          expect(scripts[site]).toMatch(/CREATE TABLE IF NOT EXISTS .ddbkit_applied./);
          expect(scripts[site]).toMatch(/SELECT 'ITEMS', 'MAR', 0, NULL/);
        }
        expect(scripts.LITE).not.toMatch(/ddbkit_outbox/);
      } finally {
        await source.close();
      }
    } finally {
      delete process.env.ASYNC_DESIGN_PW;
    }
  });
});
