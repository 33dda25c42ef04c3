/**
 * The primary of an async fragment: the FIRST site its `sites:` lists. It takes every write; the
 * other sites follow it. The write path, sync and status all ask this one function.
 */
import { DesignError } from '../design/errors.js';
import type { Engine } from '../design/schema.js';

export function primarySite<S>(fragment: { readonly sites: readonly S[] }): S {
  const first = fragment.sites[0];
  if (first === undefined) throw new Error('a fragment has at least one site');
  return first;
}

/**
 * Refuses, while a design is loaded, an async fragment whose primary runs DuckDB: DuckDB has no
 * triggers, so its changes could not be captured for the replicas.
 */
export function checkAsyncPrimaries(
  fragments: ReadonlyArray<{ name: string; sites: readonly string[]; replication?: 'sync' | 'async' | undefined }>,
  sites: Readonly<Record<string, { engine: Engine }>>,
  context: { file: string; lineOf: (fragment: string) => number | undefined },
): void {
  const byName = new Map(Object.entries(sites).map(([name, s]) => [name.toLowerCase(), { name, ...s }]));
  for (const f of fragments) {
    if (f.replication !== 'async' || f.sites.length < 2) continue;
    const primary = byName.get(primarySite(f).toLowerCase());
    if (primary?.engine !== 'duckdb') continue;
    const other = f.sites.map((s) => byName.get(s.toLowerCase())).find((s) => s && s.engine !== 'duckdb');
    const line = context.lineOf(f.name);
    throw new DesignError(
      `replication: async makes the first listed site, ${primary.name} (duckdb), the primary that takes the writes, but DuckDB has no triggers to capture them for the replicas; list a site of another engine first${other ? ` (e.g. sites: [${[other.name, ...f.sites.filter((s) => s.toLowerCase() !== other.name.toLowerCase())].join(', ')}])` : ''}`,
      { file: context.file, fragment: f.name, site: primary.name, ...(line ? { line } : {}) },
    );
  }
}
