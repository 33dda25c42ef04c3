/**
 * Every engine behind the same SiteConnector contract, against the real engine: PGlite, SQLite and
 * DuckDB in-process; PostgreSQL and MariaDB as throwaway servers (skipped loudly when missing).
 * Skips inside a suite come from capabilities, never from engine names.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/design/schema.js';
import { openConnector, SiteError, type LoadColumn, type SiteConnector } from '../../src/engines/connector.js';
import { canonicalValue, valueTypeOf } from '../../src/engines/values.js';
import { mariaDbUnavailableReason, startMariaDb, type MariaDbServer } from '../support/mariadb-server.js';
import { postgresUnavailableReason, startPostgres, type PostgresServer } from '../support/postgres-server.js';
import { ALL_TYPES, fixtureRows } from './fixture.js';

interface EngineCase {
  engine: Engine;
  /** Why this engine cannot run here (binaries missing), or undefined. */
  unavailable?: string;
  /** Starts what the engine needs and returns the site URL. */
  start(): Promise<{ url: string; stop(): Promise<void> }>;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ddbkit-engines-'));

const CASES: EngineCase[] = [
  { engine: 'pglite', start: async () => ({ url: 'memory:', stop: async () => {} }) },
  { engine: 'sqlite', start: async () => ({ url: `file:${path.join(tmp, 'site.sqlite')}`, stop: async () => {} }) },
  { engine: 'duckdb', start: async () => ({ url: `file:${path.join(tmp, 'site.duckdb')}`, stop: async () => {} }) },
  {
    engine: 'postgres',
    unavailable: postgresUnavailableReason(),
    start: async () => {
      const s: PostgresServer = await startPostgres();
      return { url: s.url, stop: s.stop };
    },
  },
  {
    engine: 'mariadb',
    unavailable: mariaDbUnavailableReason(),
    start: async () => {
      const s: MariaDbServer = await startMariaDb();
      return { url: s.url, stop: s.stop };
    },
  },
];

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const COLUMNS: LoadColumn[] = ALL_TYPES.columns.map((c) => ({ name: c.name, type: c.type }));
const TYPES = ALL_TYPES.columns.map((c) => c.type);
const canonicalRow = (row: unknown[]): unknown[] => row.map((v, i) => canonicalValue(v, valueTypeOf(TYPES[i]!)));

async function* inBatches(rows: unknown[][], size: number): AsyncIterable<unknown[][]> {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}

async function collect(it: AsyncIterable<unknown[][]>): Promise<{ rows: unknown[][]; batches: number[] }> {
  const rows: unknown[][] = [];
  const batches: number[] = [];
  for await (const b of it) {
    batches.push(b.length);
    rows.push(...b);
  }
  return { rows, batches };
}

for (const c of CASES) {
  if (c.unavailable) {
    console.warn(`\n*** SKIPPING ${c.engine} connector tests: ${c.unavailable} ***\n`);
  }
  describe.skipIf(c.unavailable !== undefined)(`${c.engine} connector`, () => {
    let server: { url: string; stop(): Promise<void> };
    let site: SiteConnector;
    const open = (): Promise<SiteConnector> =>
      openConnector({ name: `site_${c.engine}`, engine: c.engine, url: server.url }, tmp);
    const q = (n: string): string => site.dialect.quoteIdentifier(n);
    const count = async (table: string): Promise<number> =>
      Number((await site.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${q(table)}`))[0]?.n);

    beforeAll(async () => {
      server = await c.start();
      site = await open();
    });
    afterAll(async () => {
      await site?.close();
      await server?.stop();
    });

    it('reports its version and capabilities', async () => {
      expect(await site.version()).toMatch(/\d+\.\d+/);
      expect(site.capabilities.bulkLoad).toBeTruthy();
      expect(site.engine).toBe(c.engine);
    });

    it('creates a table with every mapped type, bulk-loads and streams the same canonical values back', async () => {
      for (const sql of site.dialect.createTable(ALL_TYPES.name, ALL_TYPES.columns, ALL_TYPES.primaryKey, {
        indexes: [{ columns: ['code'] }],
      })) {
        await site.execute(sql);
      }
      const rows = fixtureRows(1000);
      const loaded = await site.bulkLoad(ALL_TYPES.name, COLUMNS, inBatches(rows, 300));
      expect(loaded).toBe(1000);
      const cols = ALL_TYPES.columns.map((col) => q(col.name)).join(', ');
      const { rows: back, batches } = await collect(
        site.stream(`SELECT ${cols} FROM ${q(ALL_TYPES.name)} ORDER BY ${q('id')}`, 128, TYPES),
      );
      expect(batches.every((n) => n <= 128)).toBe(true);
      expect(batches.length).toBe(Math.ceil(1000 / 128));
      const expected = rows.map(canonicalRow);
      for (let i = 0; i < expected.length; i++) {
        // Compare row by row for a readable failure.
        expect({ id: i + 1, row: back[i] }).toEqual({ id: i + 1, row: expected[i] });
      }
      // readAll (one round trip, values read in place) reads every value as the stream does.
      const all = await site.readAll(`SELECT ${cols} FROM ${q(ALL_TYPES.name)} ORDER BY ${q('id')}`, TYPES);
      expect(all).toEqual(back);
    });

    it('reads canonical values without type hints where the engine knows the type', async () => {
      const rows = await site.query(
        `SELECT ${q('id')}, ${q('big')}, ${q('price')}, ${q('active')}, ${q('born')}, ${q('seen')}, ${q('name')} FROM ${q(ALL_TYPES.name)} WHERE ${q('id')} <= 3 ORDER BY ${q('id')}`,
      );
      expect(rows[0]).toEqual({
        id: 1,
        big: '9007199254740993',
        price: '-37.01',
        active: false,
        born: '2001-02-02',
        seen: '2024-02-29T01:01:11.007919',
        name: 'Ngũgĩ wa Thiong’o',
      });
      expect(rows[1]?.big).toBe('-9223372036854775808');
      expect(rows[2]).toMatchObject({ big: '9223372036854775807', active: true });
    });

    it('renders predicates in its dialect and filters like the source would', async () => {
      const { parsePredicate } = await import('../../src/predicate/index.js');
      const scope = {
        description: 'all_types',
        resolve: (n: string) => {
          const col = ALL_TYPES.columns.find((x) => x.name === n.toLowerCase());
          return col ? { id: col.name, name: col.name, type: col.type, nullable: col.nullable } : undefined;
        },
      };
      const p = parsePredicate(
        "born >= DATE '2010-01-01' AND active AND price < 0 AND seen < '2024-02-29 12:00' AND paid >= '2023-12-31 23:59:55Z'",
        scope,
      );
      const where = site.dialect.renderPredicate(p);
      const got = await site.query<{ id: number }>(
        `SELECT ${q('id')} FROM ${q(ALL_TYPES.name)} WHERE ${where} ORDER BY ${q('id')}`,
      );
      const expected = fixtureRows(1000)
        .map(canonicalRow)
        .filter(
          (r) =>
            r[8] !== null &&
            (r[8] as string) >= '2010-01-01' &&
            r[7] === true &&
            r[3] !== null &&
            (r[3] as string).startsWith('-') &&
            r[9] !== null &&
            (r[9] as string) < '2024-02-29T12:00' &&
            r[10] !== null &&
            (r[10] as string).replace('Z', '') >= '2023-12-31T23:59:55',
        )
        .map((r) => r[0]);
      expect(expected.length).toBeGreaterThan(0);
      expect(got.map((r) => r.id)).toEqual(expected);
    });

    it('introspects the table back to the same catalog', async () => {
      const catalog = await site.introspect();
      const rel = catalog.relations.find((r) => r.name === ALL_TYPES.name);
      expect(rel).toBeDefined();
      expect(rel!.primaryKey).toEqual(['id']);
      expect(rel!.columns.map((col) => [col.name, col.type.family, col.nullable])).toEqual(
        ALL_TYPES.columns.map((col) => [col.name, col.type.family, col.nullable]),
      );
      const price = rel!.columns.find((col) => col.name === 'price')!;
      expect([price.type.precision, price.type.scale]).toEqual([10, 2]);
      expect(rel!.columns.find((col) => col.name === 'big')!.type.bits).toBe(64);
    });

    it('rolls a transaction back', async () => {
      await site.execute(`CREATE TABLE ${q('tx_probe')} (${q('id')} INTEGER NOT NULL PRIMARY KEY)`);
      await site.begin();
      await site.execute(`INSERT INTO ${q('tx_probe')} VALUES (1)`);
      expect(site.inTransaction).toBe(true);
      await site.rollback();
      expect(await count('tx_probe')).toBe(0);
      await site.begin();
      await site.execute(`INSERT INTO ${q('tx_probe')} VALUES (2)`);
      await site.commit();
      expect(await count('tx_probe')).toBe(1);
    });

    it('keeps a transaction whose first statement fails: nothing after it commits on its own', async () => {
      // Server connectors send BEGIN with the first statement; PostgreSQL drops the whole message
      // on a syntax error, BEGIN included. What follows must still be inside the transaction.
      await site.execute(`CREATE TABLE ${q('tx_first_fails')} (${q('id')} INTEGER NOT NULL PRIMARY KEY)`);
      for (const bad of ['SELEC 1', `SELECT ${q('nope')} FROM ${q('tx_first_fails')}`]) {
        await site.begin();
        await expect(site.readAll(bad)).rejects.toThrow(site.site);
        expect(site.inTransaction).toBe(true);
        // PostgreSQL refuses statements in a failed transaction; the other engines run this one.
        await site.execute(`INSERT INTO ${q('tx_first_fails')} VALUES (1)`).catch(() => {});
        await site.rollback();
        expect(await count('tx_first_fails')).toBe(0);
      }
      // A transaction that never sent a statement ends without one.
      await site.begin();
      await site.commit();
      await site.begin();
      await site.rollback();
      expect(site.inTransaction).toBe(false);
    });

    it('leaves nothing behind when a bulk load fails half-way', async () => {
      const before = await count(ALL_TYPES.name);
      async function* failing(): AsyncIterable<unknown[][]> {
        yield fixtureRows(100, 5001);
        throw new Error('source went away');
      }
      await expect(site.bulkLoad(ALL_TYPES.name, COLUMNS, failing())).rejects.toThrow(/source went away/);
      expect(await count(ALL_TYPES.name)).toBe(before);
      // A duplicate key is refused, not skipped.
      await expect(site.bulkLoad(ALL_TYPES.name, COLUMNS, [fixtureRows(2, 2001), fixtureRows(1, 1)])).rejects.toThrow(SiteError);
      expect(await count(ALL_TYPES.name)).toBe(before);
    });

    it('two-phase commit: prepared rows stay invisible until commit; rollback leaves nothing', async (ctx) => {
      if (!site.capabilities.twoPhaseCommit) {
        await expect(site.prepare('x')).rejects.toThrow(/not supported/);
        const why = `${c.engine} has no two-phase commit (capabilities.twoPhaseCommit is false; prepare() refused as it must)`;
        console.info(`skipped: ${why}`);
        ctx.skip(why);
        return;
      }
      await site.execute(`CREATE TABLE ${q('tpc')} (${q('id')} INTEGER NOT NULL PRIMARY KEY)`);
      const other = await open();
      try {
        const gid = `ddbkit-test-${Date.now()}`;
        await site.begin({ gid });
        await site.execute(`INSERT INTO ${q('tpc')} VALUES (1)`);
        await site.prepare(gid);
        expect((await site.listPrepared()).map((p) => p.gid)).toContain(gid);
        expect(Number((await other.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${q('tpc')}`))[0]?.n)).toBe(0);
        await site.commitPrepared(gid);
        expect((await site.listPrepared()).map((p) => p.gid)).not.toContain(gid);
        expect(Number((await other.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${q('tpc')}`))[0]?.n)).toBe(1);

        const gid2 = `${gid}-rb`;
        await site.begin({ gid: gid2 });
        await site.execute(`INSERT INTO ${q('tpc')} VALUES (2)`);
        await site.prepare(gid2);
        expect((await site.listPrepared()).map((p) => p.gid)).toContain(gid2);
        await site.rollbackPrepared(gid2);
        expect((await site.listPrepared()).map((p) => p.gid)).not.toContain(gid2);
        expect(Number((await other.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${q('tpc')}`))[0]?.n)).toBe(1);
      } finally {
        await other.close();
      }
    });

    it('names the site in errors', async () => {
      await expect(site.query('SELECT * FROM no_such_table')).rejects.toThrow(
        new RegExp(`site site_${c.engine} \\(${c.engine}\\)`),
      );
    });
  });
}

describe('connection errors', () => {
  it('names the site and hides the password when a server refuses', async () => {
    for (const [engine, url] of [
      ['postgres', 'postgres://admin:S3cret-pw@127.0.0.1:1/db'],
      ['mariadb', 'mysql://admin:S3cret-pw@127.0.0.1:1/db'],
    ] as const) {
      const err = await openConnector({ name: 'bad_site', engine, url }, tmp).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SiteError);
      const text = `${(err as Error).message} ${JSON.stringify(err)} ${String((err as Error).stack)}`;
      expect(text).toContain('bad_site');
      expect(text).not.toContain('S3cret-pw');
      expect((err as Error).message).toContain('***');
    }
  });

  it('expands ${VAR} in URLs and names the site when a variable is missing', async () => {
    const err = await openConnector(
      { name: 'env_site', engine: 'postgres', url: 'postgres://u:${DDBKIT_TEST_UNSET_PW}@h/db' },
      tmp,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiteError);
    expect((err as Error).message).toMatch(/env_site.*DDBKIT_TEST_UNSET_PW/);
  });

  it.skipIf(mariaDbUnavailableReason() !== undefined)('refuses wrong MariaDB credentials without echoing them', async () => {
    const server = await startMariaDb();
    try {
      const url = server.url.replace('root@', 'root:Wr0ng-pass@');
      const err = await openConnector({ name: 'maria_site', engine: 'mariadb', url }, tmp).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SiteError);
      expect((err as Error).message).toMatch(/maria_site.*Access denied/);
      expect(`${(err as Error).message} ${JSON.stringify(err)}`).not.toContain('Wr0ng-pass');
    } finally {
      await server.stop();
    }
  });
});

describe('duckdb: decimals wider than 18 digits load exactly (short values take the appender’s double path)', () => {
  it('every value reads back as loaded: 1 to 38 digits, scales 0, 2 and 18, signs, zeros', async () => {
    const site = await openConnector({ name: 'WIDE', engine: 'duckdb', url: `file:${path.join(tmp, 'wide.duckdb')}` }, tmp);
    try {
      for (const scale of [0, 2, 18]) {
        const type = { family: 'decimal', sqlType: `numeric(38,${scale})`, precision: 38, scale } as const;
        const columns = [
          { name: 'id', type: { family: 'integer', sqlType: 'integer', bits: 32 } as const },
          { name: 'v', type },
        ];
        const table = `wide_${scale}`;
        for (const sql of site.dialect.createTable(
          table,
          columns.map((c) => ({ ...c, nullable: true })),
          ['id'],
        ))
          await site.execute(sql);
        // Deterministic digits (a linear congruential sequence): every length, both signs.
        let seed = 12345 + scale;
        const digit = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) >> 16) % 10;
        const rows: unknown[][] = [];
        for (let i = 0; i < 3000; i++) {
          const length = 1 + (i % 38);
          let s = '';
          for (let d = 0; d < length; d++) s += String(digit());
          s = s.replace(/^0+(?=\d)/, '');
          const text =
            scale === 0 ? s : s.length > scale ? `${s.slice(0, -scale)}.${s.slice(-scale)}` : `0.${s.padStart(scale, '0')}`;
          rows.push([i, i % 3 === 0 && !/^[0.]+$/.test(text) ? `-${text}` : text]);
        }
        rows.push([3000, null], [3001, scale ? `0.${'0'.repeat(scale)}` : '0']);
        await site.bulkLoad(table, columns, [rows]);
        const back = await site.readAll(`SELECT id, v FROM ${table} ORDER BY id`, [columns[0]!.type, type]);
        const expected = rows.map(([id, v]) => [id, v === null ? null : canonicalValue(v, valueTypeOf(type))]);
        const wrong = back.filter((r, i) => JSON.stringify(r) !== JSON.stringify(expected[i]));
        expect(wrong.slice(0, 3), `scale ${scale}`).toEqual([]);
        expect(back).toHaveLength(rows.length);
      }
    } finally {
      await site.close();
    }
  });
});
