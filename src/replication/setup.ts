/**
 * What `ddbkit deploy` builds for async fragments, after the fragment tables are loaded, and the
 * same as script text for `ddbkit scripts`:
 * - at a primary with outbox replicas: the outbox, its counter, one capture trigger set per table;
 * - at an outbox replica: the applied-seq table, one row per fragment it follows;
 * - between PostgreSQL sites: publication and slot at the primary, subscription at the replica.
 * Re-running is safe: objects that exist are kept (triggers and publications are brought up to date).
 */
import type { ResolvedDesign } from '../design/resolve.js';
import type { SiteSpec } from '../design/schema.js';
import { type SiteConnector, SiteError } from '../engines/connector.js';
import { APPLIED, OUTBOX, OUTBOX_SEQ, type SetupStatement } from './engines/base.js';
import { replicationFor } from './engines/registry.js';
import {
  type LogicalPair,
  conninfo,
  createSlotSql,
  createSubscriptionSql,
  dropPublicationSql,
  dropSlotSql,
  dropSubscriptionSql,
  logicalPair,
  primaryPassword,
  publicationSql,
  refreshSubscriptionSql,
} from './logical.js';
import { type ReplicaLink, capturedTable, groupBy, replicaLinks } from './plan.js';

export interface Undo {
  connector: SiteConnector;
  drop: string;
}

async function exists(c: SiteConnector, sql: string): Promise<boolean> {
  try {
    return (await c.query(sql)).length > 0;
  } catch {
    return false;
  }
}

/** Whether a table exists: a query on it succeeds. */
export async function tableExists(c: SiteConnector, table: string): Promise<boolean> {
  try {
    await c.query(`SELECT 1 AS x FROM ${c.dialect.quoteIdentifier(table)} WHERE 1 = 0`);
    return true;
  } catch {
    return false;
  }
}

/** The logical pairs (primary, replica) of a design: links grouped per pair. */
export function logicalPairs(links: readonly ReplicaLink[]): LogicalPair[] {
  const logical = links.filter((l) => l.mechanism === 'logical');
  return [...groupBy(logical, (l) => `${l.primary.name}\u0000${l.replica.name}`).values()].map(logicalPair);
}

/**
 * Sets up replication on deployed sites. Everything this run creates is pushed to `created` (in
 * order), so that a failure later in deploy removes it.
 */
export async function setUpReplication(
  resolved: ResolvedDesign,
  connectors: ReadonlyMap<string, SiteConnector>,
  created: Undo[],
  onSite: (site: string, fragment?: string) => void = () => {},
): Promise<void> {
  const links = replicaLinks(resolved);
  const outbox = links.filter((l) => l.mechanism === 'outbox');

  for (const [, group] of groupBy(outbox, (l) => l.primary.name)) {
    const primary = group[0]!.primary;
    const c = connectors.get(primary.name)!;
    const rd = replicationFor(primary.engine);
    onSite(primary.name);
    const fresh = !(await tableExists(c, OUTBOX));
    for (const s of rd.outboxDdl()) await c.execute(s.sql);
    if (fresh) {
      created.push({ connector: c, drop: c.dialect.dropTable(OUTBOX) });
      if (primary.engine !== 'sqlite') created.push({ connector: c, drop: c.dialect.dropTable(OUTBOX_SEQ) });
    }
    for (const f of new Set(group.map((l) => l.fragment))) {
      onSite(primary.name, f.name);
      const t = capturedTable(f);
      for (const s of rd.captureDdl(t)) await c.execute(s.sql);
      if (fresh) for (const drop of rd.dropCapture(t)) created.push({ connector: c, drop });
    }
    const [row] = await c.query<{ seq: unknown }>(rd.currentSeqSql());
    const seq = Number(row?.seq ?? 0);
    for (const [, mine] of groupBy(group, (l) => l.replica.name)) {
      const replica = mine[0]!.replica;
      const r = connectors.get(replica.name)!;
      const rr = replicationFor(replica.engine);
      onSite(replica.name);
      const had = await tableExists(r, APPLIED);
      await r.execute(rr.appliedDdl());
      if (!had) created.push({ connector: r, drop: r.dialect.dropTable(APPLIED) });
      for (const l of mine) await r.execute(rr.appliedInitSql(l.fragment.name, primary.name, seq));
    }
  }

  for (const pair of logicalPairs(links)) {
    const p = connectors.get(pair.primary.name)!;
    const r = connectors.get(pair.replica.name)!;
    onSite(pair.primary.name);
    const hasPublication = await exists(p, `SELECT 1 AS x FROM pg_publication WHERE pubname = '${pair.publication}'`);
    await p.execute(publicationSql(pair, hasPublication));
    if (!hasPublication) created.push({ connector: p, drop: dropPublicationSql(pair) });
    const hasSlot = await exists(p, `SELECT 1 AS x FROM pg_replication_slots WHERE slot_name = '${pair.slot}'`);
    onSite(pair.replica.name);
    const hasSubscription = await exists(
      r,
      `SELECT 1 AS x FROM pg_subscription WHERE subname = '${pair.subscription}' AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    if (hasSubscription) {
      await r.execute(refreshSubscriptionSql(pair));
      continue;
    }
    if (!hasSlot) {
      await p.execute(createSlotSql(pair));
      created.push({ connector: p, drop: dropSlotSql(pair) });
    }
    await createSubscription(r, pair);
    created.push({ connector: r, drop: dropSubscriptionSql(pair) });
  }
}

/** Sends CREATE SUBSCRIPTION with the real password; an error never carries it. */
async function createSubscription(r: SiteConnector, pair: LogicalPair): Promise<void> {
  const shown = createSubscriptionSql(pair, conninfo(pair.primary, 'placeholder'), false);
  const password = primaryPassword(pair.primary);
  try {
    await r.execute(createSubscriptionSql(pair, conninfo(pair.primary, 'real'), false));
  } catch (e) {
    const scrub = (s: string) => (password ? s.split(password).join('***') : s);
    throw new SiteError(
      pair.replica.name,
      pair.replica.engine,
      `cannot subscribe to ${pair.primary.name}: ${scrub((e as Error).message).replace(/^site \S+ \([^)]*\): /, '')}`,
      { ...(e instanceof SiteError ? { code: e.code } : {}), sql: shown },
    );
  }
}

/** Script lines for a site (comments and statements with their terminators); empty when it takes no part. */
export function replicationScript(resolved: ResolvedDesign, site: SiteSpec): string[] {
  const links = replicaLinks(resolved);
  if (!links.some((l) => l.primary === site || l.replica === site)) return [];
  const out: string[] = [`-- ─── Asynchronous replication at ${site.name} ───`, ''];
  const emit = (s: SetupStatement) => {
    if (s.compound) out.push('DELIMITER $$', `${s.sql} $$`, 'DELIMITER ;');
    else out.push(`${s.sql};`);
  };
  const outbox = links.filter((l) => l.mechanism === 'outbox');
  const asPrimary = outbox.filter((l) => l.primary === site);
  if (asPrimary.length > 0) {
    const rd = replicationFor(site.engine);
    const fragments = [...new Set(asPrimary.map((l) => l.fragment))];
    out.push(
      `-- ${site.name} is the primary of ${fragments.map((f) => f.name).join(', ')}: triggers log every change into ${OUTBOX},`,
      `-- which \`ddbkit sync\` applies at ${[...new Set(asPrimary.map((l) => l.replica.name))].join(', ')}.`,
    );
    rd.outboxDdl().forEach(emit);
    for (const f of fragments) rd.captureDdl(capturedTable(f)).forEach(emit);
    out.push('');
  }
  const asReplica = outbox.filter((l) => l.replica === site);
  if (asReplica.length > 0) {
    const rr = replicationFor(site.engine);
    out.push(
      `-- ${site.name} follows ${asReplica.map((l) => `${l.fragment.name} (primary ${l.primary.name})`).join(', ')}: the last change applied.`,
    );
    out.push(`${rr.appliedDdl()};`);
    for (const l of asReplica) out.push(`${rr.appliedInitSql(l.fragment.name, l.primary.name, 0)};`);
    out.push('');
  }
  for (const pair of logicalPairs(links)) {
    if (pair.primary === site) {
      out.push(`-- PostgreSQL logical replication of ${pair.tables.join(', ')} to ${pair.replica.name}.`);
      out.push(`${publicationSql(pair, false)};`, '');
    }
    if (pair.replica === site) {
      const info = conninfo(pair.primary, 'placeholder');
      out.push(
        `-- ${pair.tables.join(', ')} follow ${pair.primary.name} through PostgreSQL logical replication${/__\w+_PASSWORD__/.test(info) ? `; replace __${pair.primary.name.toUpperCase()}_PASSWORD__ with the password at ${pair.primary.name}` : ''}.`,
        `-- Created without connecting; once ${pair.primary.name} has its publication and both sites hold the same rows, run`,
        `--   at ${pair.primary.name}: ${createSlotSql(pair)};`,
        `--   here: ALTER SUBSCRIPTION "${pair.subscription}" ENABLE; ${refreshSubscriptionSql(pair)};`,
        'SET client_min_messages = error;',
        `${createSubscriptionSql(pair, info, true)};`,
        'RESET client_min_messages;',
        '',
      );
    }
  }
  return out;
}
