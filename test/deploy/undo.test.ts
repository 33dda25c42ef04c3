/**
 * A failed deploy removes what the run created and nothing else: a view that was already at the
 * decision site survives, the fragment tables of the run do not. Embedded sites only.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployError, deploy } from '../../src/deploy/deploy.js';
import { loadDesign } from '../../src/design/load.js';
import { openConnector } from '../../src/engines/connector.js';
import { type SourceDatabase, openSource } from '../../src/engines/source.js';

const example = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../examples/ecommerce/design.yaml');

describe('a failed deploy undoes exactly its own work', () => {
  let dir: string;
  let source: SourceDatabase;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ddbkit-undo-'));
    const design = await loadDesign(example);
    source = await openSource(design.source, design.dir);
  }, 120_000);

  afterAll(async () => {
    await source?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a view that was already at the decision site, drops the tables it created', async () => {
    const design = await loadDesign(example);
    const nairobi = design.sites.find((s) => s.name === 'NAIROBI')!;
    mkdirSync(path.join(dir, 'sites'), { recursive: true });
    // A first deploy leaves the views `product` and `region` at the decision site.
    const first = await deploy(design, source, { sitesDir: dir, verify: false });
    expect(first.views.map((v) => v.view).sort()).toEqual(['product', 'region']);
    // Someone replaces the `region` view by a table: the next run's `region` view then fails,
    // after it has replaced `product` — which existed before that run and must survive its undo.
    const site = await openConnector(nairobi, dir);
    await site.execute('DROP VIEW region');
    await site.execute('CREATE TABLE region (x integer)');
    await site.close();

    const error = await deploy(design, source, { sitesDir: dir, verify: false }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DeployError);
    expect((error as Error).message).toMatch(/site NAIROBI/);

    const after = await openConnector(nairobi, dir);
    try {
      expect(await after.query(after.dialect.viewExistsSql('product'))).toHaveLength(1);
      const tables = (await after.introspect()).relations.map((r) => r.name);
      expect(tables).toContain('customer_nbo'); // tables of the first run are not this run's to remove
      expect(tables).toContain('region');
    } finally {
      await after.close();
    }
  });
});
