/**
 * Helpers for the async replication tests: a small source with every awkward value type, designs
 * replicating it asynchronously from a primary to replicas on other engines, writes made directly
 * at the primary in its own SQL, and an independent reading of each site's rows.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { type Design, loadDesign } from '../../src/design/load.js';
import type { Engine } from '../../src/design/schema.js';
import { openConnector, type SiteConnector } from '../../src/engines/connector.js';

export const SOURCE_SQL = `
CREATE TABLE item (
  id integer PRIMARY KEY,
  code varchar(40) NOT NULL,
  price numeric(12,2),
  qty bigint,
  ratio double precision,
  active boolean,
  born date,
  seen timestamp,
  stamp timestamptz,
  at_time time,
  note text,
  blob bytea,
  doc json
);
INSERT INTO item VALUES
  (1, 'one', 10.50, 9007199254740993, 0.1, true, '2024-02-29', '2024-01-01 10:00:00.123456', '2024-01-01 10:00:00+02', '23:59:59.5', 'plain', '\\xdeadbeef', '{"a": 1}'),
  (2, 'two', 0.00, -5, -2.5e-10, false, '1999-12-31', '2000-01-01 00:00:00', '2000-01-01 00:00:00+00', '00:00:00', 'it''s "two"', '\\x', '[]'),
  (3, 'three', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (4, 'four', 99.99, 4, 4.0, true, '2020-01-01', '2020-01-01 12:00:00', '2020-01-01 12:00:00+00', '12:00:00', 'four', '\\x04', '{}');
CREATE TABLE pair (a integer, b varchar(20), v text, PRIMARY KEY (a, b));
INSERT INTO pair VALUES (1, 'x', 'first'), (1, 'y', 'second'), (2, 'x', 'third');
`;

/** The awkward text written at primaries: quotes, backslashes, tab, newline, accents, CJK, an emoji. */
export const AWKWARD = 'it\'s "quoted" \\ back\\slash\ttab\nnewline é 漢字 🎉 %_';

export interface SiteDef {
  engine: Engine;
  url: string;
  decision?: boolean;
}

/** Writes DIR/source.sql and DIR/design.yaml: ITEM and PAIR replicated asynchronously over `order` (the first is the primary). */
export async function writeDesign(dir: string, sites: Record<string, SiteDef>, order: string[]): Promise<Design> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'source.sql'), SOURCE_SQL);
  const doc = {
    name: 'async-test',
    source: './source.sql',
    sites,
    fragments: [
      { name: 'ITEM_ALL', of: 'item', sites: order, replication: 'async' },
      { name: 'PAIR_ALL', of: 'pair', sites: order, replication: 'async' },
    ],
  };
  const file = path.join(dir, 'design.yaml');
  writeFileSync(file, stringify(doc));
  return loadDesign(file);
}

export async function withSite<T>(design: Design, site: string, fn: (c: SiteConnector) => Promise<T>): Promise<T> {
  const spec = design.sites.find((s) => s.name === site)!;
  const c = await openConnector(spec, design.dir);
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

/**
 * Writes made directly at a primary, in its engine's SQL: an insert of awkward values, updates
 * (one changing the key), deletes, a rolled-back transaction, on both tables. Returns the number
 * of row changes made (what the outbox should hold).
 */
export function primaryWrites(engine: Engine): string[] {
  const s = (t: string) => `'${(engine === 'mariadb' ? t.replace(/\\/g, '\\\\') : t).replace(/'/g, "''")}'`;
  const bool = (b: boolean) => (engine === 'sqlite' ? (b ? '1' : '0') : b ? 'TRUE' : 'FALSE');
  const bytes = (hex: string) => (engine === 'postgres' || engine === 'pglite' ? `decode('${hex}', 'hex')` : `X'${hex}'`);
  const ts = (t: string) => (engine === 'sqlite' ? `'${t.replace(' ', 'T')}'` : `'${t}'`);
  const tstz = (t: string) => (engine === 'sqlite' ? `'${t.replace(' ', 'T')}'` : engine === 'mariadb' ? `'${t}'` : `'${t}+00'`);
  const begin = engine === 'mariadb' ? 'START TRANSACTION' : 'BEGIN';
  return [
    `INSERT INTO item_all VALUES (100, 'new', 1234567890.99, 9007199254740995, 1.0000000000000002, ${bool(true)}, '1999-12-31', ${ts('2024-06-30 23:59:59.999999')}, ${tstz('2024-06-30 23:59:59.999999')}, '23:59:59.5', ${s(AWKWARD)}, ${bytes('00ff10')}, ${s('{"k": [1, 2], "s": "x\\"y"}')})`,
    `UPDATE item_all SET price = 20.25, note = ${s('changed ' + AWKWARD)}, active = ${bool(false)} WHERE id = 2`,
    `UPDATE item_all SET id = 1003, code = 'three-moved' WHERE id = 3`,
    `DELETE FROM item_all WHERE id = 1`,
    `UPDATE item_all SET qty = NULL, ratio = NULL, born = NULL, note = NULL WHERE id = 4`,
    `INSERT INTO pair_all VALUES (3, 'z', ${s(AWKWARD)})`,
    `UPDATE pair_all SET b = 'moved' WHERE a = 1 AND b = 'y'`,
    `DELETE FROM pair_all WHERE a = 2`,
    begin,
    `INSERT INTO item_all (id, code) VALUES (500, 'rolled back')`,
    'ROLLBACK',
    `INSERT INTO item_all (id, code, note) VALUES (101, 'after rollback', '')`,
  ];
}

/** Row changes made by primaryWrites (the rolled-back insert excluded). */
export const PRIMARY_CHANGES = 9;

/** A fragment's rows at a site, canonical values, as sorted JSON lines (Buffers as hex). */
export async function fragmentRows(
  c: SiteConnector,
  table: string,
  types: readonly import('../../src/catalog/types.js').ColumnType[],
  columns: readonly string[],
): Promise<string[]> {
  const q = (n: string) => c.dialect.quoteIdentifier(n);
  const lines: string[] = [];
  for await (const batch of c.stream(`SELECT ${columns.map(q).join(', ')} FROM ${q(table)}`, 1000, types))
    for (const row of batch) lines.push(JSON.stringify(row.map((v) => (Buffer.isBuffer(v) ? `\\x${v.toString('hex')}` : v))));
  return lines.sort();
}
