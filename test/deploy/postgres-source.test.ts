/**
 * A PostgreSQL source deployed onto PostgreSQL sites moves its rows as raw COPY text (never
 * decoded), and onto other engines through canonical values; both verify against the source.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy } from '../../src/deploy/deploy.js';
import { loadDesign } from '../../src/design/load.js';
import { type SourceDatabase, openSource } from '../../src/engines/source.js';
import { postgresUnavailableReason } from '../support/postgres-server.js';
import { type PgHandle, root, startPg, writeVariant } from './support.js';

const unavailable = postgresUnavailableReason();
if (unavailable) console.warn(`\n*** SKIPPING the PostgreSQL-source deploy test: ${unavailable} ***\n`);

describe.skipIf(unavailable !== undefined)('deploy from a PostgreSQL source', () => {
  let pg: PgHandle;
  let tmp: string;
  let source: SourceDatabase;

  beforeAll(async () => {
    pg = await startPg();
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ddbkit-pgsource-'));
    for (const db of ['central', 'enit', 'fsegt']) await pg.createDatabase(db);
    await pg.sql('central', readFileSync(path.join(root, 'examples/library/library.sql'), 'utf8'));
    source = await openSource(pg.url('central'), tmp);
  }, 120_000);

  afterAll(async () => {
    await source?.close();
    await pg?.server.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('moves fragments to PostgreSQL sites as raw COPY text and to SQLite through values; verification passes', async () => {
    const file = writeVariant(
      tmp,
      'library',
      {
        ENIT: { engine: 'postgres', url: pg.url('enit'), decision: true },
        FST: { engine: 'sqlite', url: 'file:./fst.db' },
        FSEGT: { engine: 'postgres', url: pg.url('fsegt') },
      },
      (_f, sites) => sites,
    );
    const design = await loadDesign(file);
    const advanced: number[] = [];
    const result = await deploy({ ...design, source: pg.url('central') }, source, {
      progress: { start: () => {}, advance: (n) => advanced.push(n), done: () => {}, note: () => {} },
    });
    expect(result.verification?.ok, JSON.stringify(result.verification?.fragments.filter((f) => !f.ok))).toBe(true);
    // Progress counts rows on both paths: every row moved was reported.
    const moved = result.loaded.reduce((n, l) => n + l.rows, 0);
    expect(advanced.reduce((a, b) => a + b, 0)).toBe(moved);
    const students = await pg.sql<{ n: string }>('fsegt', 'SELECT count(*) AS n FROM student_fsegt');
    const expected = await pg.sql<{ n: string }>('central', "SELECT count(*) AS n FROM student WHERE institution = 'FSEGT'");
    expect(Number(students[0]!.n)).toBe(Number(expected[0]!.n));
  });
});
