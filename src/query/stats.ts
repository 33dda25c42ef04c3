/**
 * Statistics for the cost model: rows per fragment, counted at the sites (one replica each, sites
 * in parallel) and cached beside them in `<sitesDir>/.ddbkit/<design>.stats.json`, as the catalog
 * is. They are estimates only — a stale count can make a plan slower, never an answer different —
 * so the cache is trusted for an hour, then counted again.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Design } from '../design/load.js';
import type { ResolvedDesign } from '../design/resolve.js';
import type { SiteSpec } from '../design/schema.js';
import { tableName } from '../deploy/layout.js';
import type { SiteConnector } from '../engines/connector.js';
import { dialectFor } from '../engines/dialect-registry.js';

export interface Statistics {
  collectedAt: string;
  /** Rows per fragment name. */
  fragments: Record<string, number>;
  /** The smallest and largest key per fragment whose key is one integer column (range selectivity). */
  keyRanges?: Record<string, [number, number]>;
}

export const STATISTICS_TTL_MS = 60 * 60 * 1000;

const memo = new Map<string, Promise<Statistics>>();

export function statisticsFile(design: Design, sitesDir: string): string {
  return path.join(sitesDir, '.ddbkit', `${design.name}.stats.json`);
}

/**
 * The design's statistics: from memory, from the cache file when fresh and complete, else counted
 * at the sites (`use` lends a site's connector) and written to the cache.
 */
export function statisticsFor(
  design: Design,
  resolved: ResolvedDesign,
  sitesDir: string,
  use: <T>(site: string, fn: (c: SiteConnector) => Promise<T>) => Promise<T>,
): Promise<Statistics> {
  const file = statisticsFile(design, sitesDir);
  const names = resolved.relations.flatMap((r) => r.fragments.map((f) => f.name));
  const cached = memo.get(file);
  const fresh = (s: Statistics) =>
    Date.now() - Date.parse(s.collectedAt) < STATISTICS_TTL_MS &&
    s.keyRanges !== undefined &&
    names.every((n) => typeof s.fragments[n] === 'number');
  const load = async (): Promise<Statistics> => {
    if (cached) {
      const s = await cached.catch(() => undefined);
      if (s && fresh(s)) return s;
    }
    try {
      const s = JSON.parse(await readFile(file, 'utf8')) as Statistics;
      if (fresh(s)) return s;
    } catch {
      // no cache yet, or unreadable: count
    }
    const s = await collect(resolved, use);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(s));
    return s;
  };
  const p = load();
  memo.set(file, p);
  p.catch(() => memo.delete(file));
  return p;
}

/** Forgets the cached statistics (after writes that change row counts a lot). */
export function forgetStatistics(design: Design, sitesDir: string): void {
  memo.delete(statisticsFile(design, sitesDir));
}

async function collect(
  resolved: ResolvedDesign,
  use: <T>(site: string, fn: (c: SiteConnector) => Promise<T>) => Promise<T>,
): Promise<Statistics> {
  const bySite = new Map<string, Array<{ fragment: string; table: string; site: SiteSpec; key?: string }>>();
  for (const r of resolved.relations) {
    const pk = r.relation.primaryKey;
    const integerKey =
      pk.length === 1 && r.relation.columns.find((c) => c.name === pk[0])?.type.family === 'integer' ? pk[0] : undefined;
    for (const f of r.fragments) {
      const site = f.sites[0]!;
      const entry = { fragment: f.name, table: tableName(f), site, ...(integerKey ? { key: integerKey } : {}) };
      bySite.set(site.name, [...(bySite.get(site.name) ?? []), entry]);
    }
  }
  const fragments: Record<string, number> = {};
  const keyRanges: Record<string, [number, number]> = {};
  await Promise.all(
    [...bySite.entries()].map(([site, list]) =>
      use(site, async (c) => {
        for (const f of list) {
          const q = (n: string) => dialectFor(f.site.engine).quoteIdentifier(n);
          const range = f.key ? `, min(${q(f.key)}) AS lo, max(${q(f.key)}) AS hi` : '';
          const [row] = await c.query<Record<string, unknown>>(`SELECT count(*) AS n${range} FROM ${q(f.table)}`);
          fragments[f.fragment] = Number(row?.n ?? 0);
          if (f.key && row?.lo !== null && row?.lo !== undefined) keyRanges[f.fragment] = [Number(row.lo), Number(row.hi)];
        }
      }),
    ),
  );
  return { collectedAt: new Date().toISOString(), fragments, keyRanges };
}
