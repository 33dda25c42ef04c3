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
    const before = await openConnector(nairobi, dir);
    // An older `product` view (replaced by the run) and a table named `region`, where the run
    // wants its `region` view: that statement fails after the data is loaded.
    await before.execute('CREATE VIEW product AS SELECT 1 AS old_view');
    await before.execute('CREATE TABLE region (x integer)');
    await before.close();

    const error = await deploy(design, source, { sitesDir: dir }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DeployError);
    expect((error as Error).message).toMatch(/site NAIROBI/);
    expect((error as Error).message).toMatch(/removed the \d+ objects this run created/);

    const after = await openConnector(nairobi, dir);
    try {
      const tables = (await after.introspect()).relations.map((r) => r.name).sort();
      expect(tables).toEqual(['region']); // the run's fragment tables are gone, the pre-existing table stays
      const view = await after.query(after.dialect.viewExistsSql('product'));
      expect(view).toHaveLength(1);
    } finally {
      await after.close();
    }
  });
});
