/**
 * Which replicas of which async fragments follow which primary, and how: between two PostgreSQL
 * servers with PostgreSQL's logical replication, otherwise through the primary's change log
 * (outbox) applied by `ddbkit sync`.
 */
import type { Column } from '../catalog/types.js';
import { DesignError } from '../design/errors.js';
import type { ResolvedDesign, ResolvedFragment } from '../design/resolve.js';
import type { SiteSpec } from '../design/schema.js';
import { tableName } from '../deploy/layout.js';
import type { CapturedTable } from './engines/base.js';
import { primarySite } from './primary.js';

export type Mechanism = 'logical' | 'outbox';

export interface ReplicaLink {
  fragment: ResolvedFragment;
  primary: SiteSpec;
  replica: SiteSpec;
  mechanism: Mechanism;
}

export function mechanismBetween(primary: SiteSpec, replica: SiteSpec): Mechanism {
  return primary.engine === 'postgres' && replica.engine === 'postgres' ? 'logical' : 'outbox';
}

/** Every (async fragment, replica) pair; an async fragment without a primary key is a DesignError. */
export function replicaLinks(resolved: ResolvedDesign): ReplicaLink[] {
  const links: ReplicaLink[] = [];
  for (const f of resolved.fragments) {
    if (f.replication !== 'async') continue;
    const primary = primarySite(f);
    if (capturedTable(f).primaryKey.length === 0) {
      const line = resolved.design.fragmentLines.get(f.name);
      throw new DesignError(
        `replication: async applies changes by primary key, but ${f.relation.name} has none (or the fragment does not keep it)`,
        { file: resolved.design.file, fragment: f.name, ...(line ? { line } : {}) },
      );
    }
    for (const replica of f.sites.slice(1))
      links.push({ fragment: f, primary, replica, mechanism: mechanismBetween(primary, replica) });
  }
  return links;
}

/** The fragment's table as the change log sees it: stored columns in relation order, the key. */
export function capturedTable(f: ResolvedFragment): CapturedTable {
  const stored = new Set(f.columns);
  const columns: Column[] = f.relation.columns.filter((c) => stored.has(c.name));
  return { fragment: f.name, table: tableName(f), columns, primaryKey: f.relation.primaryKey.filter((k) => stored.has(k)) };
}

/** Groups links by a key, keeping first-seen order. */
export function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}
