import os from 'node:os';
/**
 * What the server benchmarks (bench:deploy, bench:query) share: argument parsing, a cleanup
 * registry undone exactly once (on success, failure or Ctrl-C), formatting, PostgreSQL databases
 * on throwaway servers, and the scaled e-commerce source generated server-side.
 */
import { openConnector } from '../../src/engines/connector.js';
import type { PostgresServer } from '../../test/support/postgres-server.js';
import { scaledEcommerceSql } from '../ecommerce-scaled.js';

// ---------------------------------------------------------------------------------------------
// Arguments

export function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  if (i >= 0) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`${name}=`));
  return eq?.slice(name.length + 1);
}

// ---------------------------------------------------------------------------------------------
// Cleanup: everything started is registered here and undone in reverse, exactly once.

export const cleanups: Array<() => Promise<void> | void> = [];
let cleaning: Promise<void> | undefined;
export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const undo of cleanups.reverse()) {
      try {
        await undo();
      } catch (e) {
        console.error(`cleanup: ${(e as Error).message}`);
      }
    }
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the servers this benchmark started…`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------
// Formatting and timing

/**
 * Starts throwaway servers in parallel, each stopped by the epilogue; if one fails to start, the
 * others are still stopped and the failure is thrown.
 */
export async function startServers<T extends Array<{ stop(): Promise<void> }>>(
  ...starters: { [K in keyof T]: () => Promise<T[K]> }
): Promise<T> {
  const starts = await Promise.allSettled(starters.map((start) => start()));
  for (const s of starts) if (s.status === 'fulfilled') cleanups.push(() => s.value.stop());
  const failed = starts.find((s) => s.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return starts.map((s) => (s as PromiseFulfilledResult<unknown>).value) as T;
}

export const fmt = (n: number): string => Math.round(n).toLocaleString('en');
export const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
export const q = (n: string): string => `"${n.replace(/"/g, '""')}"`;

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

// ---------------------------------------------------------------------------------------------
// Databases

export async function createPgDatabase(pg: PostgresServer, name: string): Promise<string> {
  const admin = await openConnector({ name: 'admin', engine: 'postgres', url: pg.url }, '.');
  try {
    await admin.execute(`CREATE DATABASE ${q(name)}`);
  } finally {
    await admin.close();
  }
  return `postgres://postgres@127.0.0.1:${pg.port}/${name}`;
}

export interface GeneratedSource {
  url: string;
  counts: Record<string, number>;
  rows: number;
  ms: number;
}

/** The e-commerce example at `scale` (bench/ecommerce-scaled.ts) in a new database `source_<tag>`. */
export async function generateSource(source: PostgresServer, scale: number, tag: string): Promise<GeneratedSource> {
  const { sql, counts } = scaledEcommerceSql(scale);
  console.log(
    `\n— scale ${scale}: generating the source (${fmt(counts.customers)} customers, ${fmt(counts.products)} products, ${fmt(counts.orders)} orders)…`,
  );
  const url = await createPgDatabase(source, `source_${tag}`);
  const gen = await timed(async () => {
    const c = await openConnector({ name: 'gen', engine: 'postgres', url }, '.');
    try {
      await c.execute(sql);
      const [row] = await c.query<Record<string, number>>(
        'SELECT (SELECT count(*) FROM region) AS region, (SELECT count(*) FROM customer) AS customer, (SELECT count(*) FROM product) AS product, (SELECT count(*) FROM orders) AS orders, (SELECT count(*) FROM order_item) AS order_item, (SELECT count(*) FROM payment) AS payment',
      );
      return Object.fromEntries(Object.entries(row!).map(([k, v]) => [k, Number(v)]));
    } finally {
      await c.close();
    }
  });
  const rows = Object.values(gen.value).reduce((a, b) => a + b, 0);
  console.log(
    `  source ready in ${secs(gen.ms)}: ${Object.entries(gen.value)
      .map(([k, v]) => `${k} ${fmt(v)}`)
      .join(', ')} (${fmt(rows)} rows)`,
  );
  return { url, counts: gen.value, rows, ms: gen.ms };
}

/** The last lines of every benchmark: stop what it started, then say how long it took and how busy the machine was. */
export async function finish(started: number): Promise<void> {
  await cleanup();
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  console.log(
    `\ntotal time ${secs(performance.now() - started)}; load average at the end ${load} (servers stopped, temp files removed)`,
  );
}
