/**
 * A PostgreSQL source deployed onto PostgreSQL sites moves its rows as raw COPY text (never
 * decoded), onto MariaDB as LOAD DATA text written by PostgreSQL itself, and onto other engines
 * through canonical values; all verify against the source, awkward values included.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy } from '../../src/deploy/deploy.js';
import { loadDesign } from '../../src/design/load.js';
import { type SourceDatabase, openSource } from '../../src/engines/source.js';
import { mariaDbUnavailableReason } from '../support/mariadb-server.js';
import { postgresUnavailableReason } from '../support/postgres-server.js';
import { parse, stringify } from 'yaml';
import { type MariaHandle, type PgHandle, root, startMaria, startPg, writeVariant } from './support.js';

const unavailable = postgresUnavailableReason() ?? mariaDbUnavailableReason();
if (unavailable) console.warn(`\n*** SKIPPING the PostgreSQL-source deploy test: ${unavailable} ***\n`);

describe.skipIf(unavailable !== undefined)('deploy from a PostgreSQL source', () => {
  let pg: PgHandle;
  let maria: MariaHandle;
  let tmp: string;
  let source: SourceDatabase;

  beforeAll(async () => {
    pg = await startPg();
    maria = await startMaria('pw-not-printed');
    await maria.createDatabase('fst');
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ddbkit-pgsource-'));
    for (const db of ['central', 'enit', 'fsegt']) await pg.createDatabase(db);
    await pg.sql('central', readFileSync(path.join(root, 'examples/library/library.sql'), 'utf8'));
    // Values whose text spelling differs between PostgreSQL's COPY and MariaDB's LOAD DATA.
    await pg.sql(
      'central',
      `CREATE TABLE oddity (id int PRIMARY KEY, flag boolean, at timestamptz, blob bytea, note text, price numeric(8,3));
       INSERT INTO oddity VALUES
         (1, true, '2024-02-29 23:59:59.5+03', '\\x00ff10', E'tab\\there, new\\nline, back\\\\slash, form\\ffeed, vertical\\x0Btab', -12.345),
         (2, false, NULL, NULL, NULL, NULL),
         (3, NULL, '1999-12-31 00:00:00+00', '', '', 0)`,
    );
    source = await openSource(pg.url('central'), tmp);
  }, 120_000);

  afterAll(async () => {
    await source?.close();
    await pg?.server.stop();
    await maria?.server.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('moves fragments to PostgreSQL as raw COPY, to MariaDB as LOAD DATA text, to SQLite as values; verification passes', async () => {
    const file = writeVariant(
      tmp,
      'library',
      {
        ENIT: { engine: 'postgres', url: pg.url('enit'), decision: true },
        FST: { engine: 'mariadb', url: `mysql://root@127.0.0.1:${maria.port}/fst` },
        FSEGT: { engine: 'postgres', url: pg.url('fsegt') },
        LITE: { engine: 'sqlite', url: 'file:./lite.db' },
      },
      (f, sites) => (f === 'AUTHOR_FSEGT' ? ['LITE'] : sites),
    );
    const doc = parse(readFileSync(file, 'utf8')) as { fragments: unknown[] };
    doc.fragments.push({ name: 'ODDITY_FST', of: 'oddity', sites: ['FST', 'LITE'] });
    writeFileSync(file, stringify(doc));
    const design = await loadDesign(file);
    const advanced: number[] = [];
    const result = await deploy({ ...design, source: pg.url('central') }, source, {
      progress: { start: () => {}, advance: (n) => advanced.push(n), done: () => {}, note: () => {} },
    });
    expect(result.verification?.ok, JSON.stringify(result.verification?.fragments.filter((f) => !f.ok))).toBe(true);
    // Progress counts rows on every path: every row moved was reported.
    const moved = result.loaded.reduce((n, l) => n + l.rows, 0);
    expect(advanced.reduce((a, b) => a + b, 0)).toBe(moved);
    const students = await pg.sql<{ n: string }>('fsegt', 'SELECT count(*) AS n FROM student_fsegt');
    const expected = await pg.sql<{ n: string }>('central', "SELECT count(*) AS n FROM student WHERE institution = 'FSEGT'");
    expect(Number(students[0]!.n)).toBe(Number(expected[0]!.n));
    const [odd] = await maria.sql<{ note: string; blob: Buffer; flag: number }>(
      'fst',
      'SELECT note, `blob`, flag FROM oddity_fst WHERE id = 1',
    );
    expect(odd!.note).toBe('tab\there, new\nline, back\\slash, form\ffeed, vertical\vtab');
    expect(odd!.blob.toString('hex')).toBe('00ff10');
    expect(odd!.flag).toBe(1);
  });
});
