/**
 * The state of a deployed design: each site reachable or not, its engine and version, its fragment
 * tables with row counts, and whether the replicas of each replicated fragment are in step.
 */
import path from 'node:path';
import type { ResolvedDesign } from '../design/resolve.js';
import { type SiteConnector, openConnector } from '../engines/connector.js';
import { type ReplicaLag, replicationLag } from '../replication/lag.js';
import { layoutSites } from './layout.js';
import { digestSiteFragment } from './verify.js';

export interface SiteStatus {
  site: string;
  engine: string;
  decision: boolean;
  reachable: boolean;
  version?: string;
  error?: string;
  tables: Array<{ fragment: string; table: string; present: boolean; rows?: number }>;
}

export interface ReplicaStatus {
  fragment: string;
  sites: string[];
  inStep: boolean;
  detail: string;
  /** Async fragments only: each replica's lag behind the primary (src/replication/lag.ts says what it measures). */
  replication?: 'async';
  lag?: ReplicaLag[];
  /** Async fragments only: the replicas differ from the primary only by changes not yet applied. */
  behind?: boolean;
}

export interface DeploymentStatus {
  sites: SiteStatus[];
  replicas: ReplicaStatus[];
}

export async function deploymentStatus(resolved: ResolvedDesign, sitesDir: string): Promise<DeploymentStatus> {
  const layouts = layoutSites(resolved);
  const connectors = new Map<string, SiteConnector>();
  const sites: SiteStatus[] = [];
  try {
    for (const layout of layouts) {
      const { site } = layout;
      const status: SiteStatus = {
        site: site.name,
        engine: site.engine,
        decision: layout.decision,
        reachable: false,
        tables: [],
      };
      sites.push(status);
      if (site.url.startsWith('file:') && !(await exists(path.resolve(sitesDir, site.url.slice(5))))) {
        status.error = 'not deployed (its file does not exist)';
        status.tables = layout.tables.map((t) => ({ fragment: t.fragment.name, table: t.table, present: false }));
        continue;
      }
      let connector: SiteConnector;
      try {
        connector = await openConnector(site, sitesDir);
      } catch (e) {
        status.error = (e as Error).message;
        status.tables = layout.tables.map((t) => ({ fragment: t.fragment.name, table: t.table, present: false }));
        continue;
      }
      connectors.set(site.name, connector);
      status.reachable = true;
      status.version = await connector.version();
      const present = new Set((await connector.introspect()).relations.map((r) => r.name.toLowerCase()));
      for (const t of layout.tables) {
        if (!present.has(t.table)) {
          status.tables.push({ fragment: t.fragment.name, table: t.table, present: false });
          continue;
        }
        const [row] = await connector.query<{ n: unknown }>(
          `SELECT count(*) AS n FROM ${connector.dialect.quoteIdentifier(t.table)}`,
        );
        status.tables.push({ fragment: t.fragment.name, table: t.table, present: true, rows: Number(row?.n ?? 0) });
      }
    }
    const replicas: ReplicaStatus[] = [];
    let lags: ReplicaLag[] = [];
    let lagError: string | undefined;
    if (resolved.fragments.some((f) => f.replication === 'async')) {
      try {
        lags = await replicationLag(resolved, connectors);
      } catch (e) {
        lagError = (e as Error).message;
      }
    }
    for (const f of resolved.fragments.filter((x) => x.sites.length > 1)) {
      const digests: string[] = [];
      const missing: string[] = [];
      for (const s of f.sites) {
        const c = connectors.get(s.name);
        const here = sites.find((x) => x.site === s.name)!.tables.find((t) => t.fragment === f.name);
        if (!c || !here?.present) {
          missing.push(s.name);
          continue;
        }
        const d = await digestSiteFragment(c, f);
        digests.push(`${d.rows}:${d.checksum}`);
      }
      const same = new Set(digests).size <= 1;
      const entry: ReplicaStatus = {
        fragment: f.name,
        sites: f.sites.map((s) => s.name),
        inStep: missing.length === 0 && same,
        detail: missing.length
          ? `not readable at ${missing.join(', ')}`
          : same
            ? 'identical on every replica'
            : 'replicas differ',
      };
      if (f.replication === 'async') {
        const lag = lags.filter((l) => l.fragment === f.name);
        entry.replication = 'async';
        entry.lag = lagError
          ? f.sites.slice(1).map((s) => ({
              fragment: f.name,
              primary: f.sites[0]!.name,
              replica: s.name,
              mechanism: 'outbox' as const,
              changes: null,
              seconds: null,
              error: lagError!,
            }))
          : lag;
        const pending = lag.filter((l) => (l.changes ?? 0) > 0 || (l.bytes ?? 0) > 0);
        if (missing.length === 0 && !same && pending.length > 0) {
          entry.behind = true;
          entry.detail = `replicas behind the primary ${f.sites[0]!.name}, by ${pending
            .map(
              (l) =>
                `${l.changes !== null ? `${l.changes} changes` : `${l.bytes} WAL bytes`}${l.seconds !== null ? ` (${l.seconds.toFixed(1)} s)` : ''} at ${l.replica}`,
            )
            .join(', ')}`;
        }
      }
      replicas.push(entry);
    }
    return { sites, replicas };
  } finally {
    await Promise.all([...connectors.values()].map((c) => c.close().catch(() => {})));
  }
}

async function exists(file: string): Promise<boolean> {
  const { access } = await import('node:fs/promises');
  return access(file).then(
    () => true,
    () => false,
  );
}
