/**
 * Library deployments on real servers for the write tests: ENIT on PostgreSQL (decision site),
 * FST on MariaDB, FSEGT on a second database of the same PostgreSQL server (two sites sharing a
 * server must not share transaction ids), optionally a SQLite site. Each call deploys a fresh
 * copy into new databases, so tests do not see each other's writes.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deploy } from '../../src/deploy/deploy.js';
import { loadDesign } from '../../src/design/load.js';
import type { SourceDatabase } from '../../src/engines/source.js';
import { type MariaHandle, type PgHandle, type SiteDef, writeVariant } from '../deploy/support.js';

export const MARIA_PW_VAR = 'DDBKIT_TEST_WRITE_PW';

let counter = 0;

export interface LibraryDeployment {
  designFile: string;
  dir: string;
  /** Database names per site, for direct checks. */
  databases: { enit: string; fst: string; fsegt: string };
}

/**
 * Deploys the library example. `fsegt: 'sqlite'` puts FSEGT on SQLite (a participant without
 * two-phase commit); `fst: 'sqlite'` likewise for FST.
 */
export async function deployLibrary(
  pg: PgHandle,
  maria: MariaHandle,
  source: SourceDatabase,
  options: { fsegt?: 'postgres' | 'sqlite'; fst?: 'mariadb' | 'sqlite'; allocate?: (f: string, s: string[]) => string[] } = {},
): Promise<LibraryDeployment> {
  const n = ++counter;
  const tag = `${process.pid}_${n}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), `ddbkit-write-${n}-`));
  const databases = { enit: `enit_${tag}`, fst: `fst_${tag}`, fsegt: `fsegt_${tag}` };
  await pg.createDatabase(databases.enit);
  const sites: Record<string, SiteDef> = {
    ENIT: { engine: 'postgres', url: pg.url(databases.enit), decision: true },
  };
  if (options.fst === 'sqlite') sites['FST'] = { engine: 'sqlite', url: 'file:./sites/fst.db' };
  else {
    await maria.createDatabase(databases.fst);
    sites['FST'] = { engine: 'mariadb', url: maria.designUrl(databases.fst, MARIA_PW_VAR) };
  }
  if (options.fsegt === 'sqlite') sites['FSEGT'] = { engine: 'sqlite', url: 'file:./sites/fsegt.db' };
  else {
    await pg.createDatabase(databases.fsegt);
    sites['FSEGT'] = { engine: 'postgres', url: pg.url(databases.fsegt) };
  }
  const designFile = writeVariant(dir, 'library', sites, options.allocate ?? ((_, s) => s));
  const design = await loadDesign(designFile);
  await deploy(design, source, { verify: false });
  return { designFile, dir, databases };
}
