/**
 * Bulk-load throughput per engine through SiteConnector.bulkLoad: N rows of an order-line-like
 * table (int key, bigint, numeric(10,2), text, date, timestamp), streamed in batches of 5,000.
 * Usage: node --import tsx bench/bulk-load.bench.ts [rows]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Column } from '../src/catalog/types.js';
import type { Engine } from '../src/design/schema.js';
import { openConnector } from '../src/engines/connector.js';
import { mariaDbUnavailableReason, startMariaDb } from '../test/support/mariadb-server.js';
import { postgresUnavailableReason, startPostgres } from '../test/support/postgres-server.js';

const N = Number(process.argv[2] ?? 100_000);
const BATCH = 5000;
const columns: Column[] = [
  { name: 'id', type: { family: 'integer', sqlType: 'integer', bits: 32 }, nullable: false },
  { name: 'customer', type: { family: 'integer', sqlType: 'bigint', bits: 64 }, nullable: false },
  { name: 'amount', type: { family: 'decimal', sqlType: 'numeric(10,2)', precision: 10, scale: 2 }, nullable: false },
  { name: 'note', type: { family: 'text', sqlType: 'text' }, nullable: true },
  { name: 'day', type: { family: 'date', sqlType: 'date' }, nullable: false },
  { name: 'at', type: { family: 'timestamp', sqlType: 'timestamp' }, nullable: false },
];

async function* rows(): AsyncIterable<unknown[][]> {
  for (let start = 1; start <= N; start += BATCH) {
    const batch: unknown[][] = [];
    for (let i = start; i < Math.min(start + BATCH, N + 1); i++) {
      batch.push([
        i,
        i * 7,
        `${i % 9999}.${String(i % 100).padStart(2, '0')}`,
        i % 10 === 0 ? null : `order line ${i} ü`,
        `2024-0${(i % 9) + 1}-1${i % 10}`,
        `2024-03-0${(i % 9) + 1}T12:${String(i % 60).padStart(2, '0')}:00`,
      ]);
    }
    yield batch;
  }
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ddbkit-bench-'));
const stops: Array<() => Promise<void>> = [];
const sites: Array<[Engine, string]> = [
  ['pglite', 'memory:'],
  ['sqlite', `file:${path.join(tmp, 'b.sqlite')}`],
  ['duckdb', `file:${path.join(tmp, 'b.duckdb')}`],
];
if (!postgresUnavailableReason()) {
  const s = await startPostgres();
  stops.push(s.stop);
  sites.push(['postgres', s.url]);
} else console.warn(`skipping postgres: ${postgresUnavailableReason()}`);
if (!mariaDbUnavailableReason()) {
  const s = await startMariaDb();
  stops.push(s.stop);
  sites.push(['mariadb', s.url]);
} else console.warn(`skipping mariadb: ${mariaDbUnavailableReason()}`);

try {
  for (const [engine, url] of sites) {
    const site = await openConnector({ name: engine, engine, url }, tmp);
    try {
      for (const sql of site.dialect.createTable('bench', columns, ['id'])) await site.execute(sql);
      const t0 = performance.now();
      const n = await site.bulkLoad('bench', columns, rows());
      const s = (performance.now() - t0) / 1000;
      console.log(
        `${engine.padEnd(9)} ${n} rows in ${s.toFixed(2)} s = ${Math.round(n / s).toLocaleString('en')} rows/s (${site.capabilities.bulkLoad})`,
      );
    } finally {
      await site.close();
    }
  }
} finally {
  for (const stop of stops) await stop();
  rmSync(tmp, { recursive: true, force: true });
}
