/**
 * PostgreSQL logical replication between two PostgreSQL sites: one publication at the primary per
 * replica site (the tables of the async fragments they share), a replication slot made beforehand
 * (so that primary and replica may be two databases of one server), and a subscription at the
 * replica that does not copy the data (deploy has loaded both from the source).
 *
 * The subscription's connection string holds the primary's password: it is sent to the replica
 * (which keeps it in its catalog) and nowhere else. Scripts carry a placeholder instead.
 */
import { createHash } from 'node:crypto';
import type { SiteSpec } from '../design/schema.js';
import { sqlString } from '../engines/dialect.js';
import { expandEnv, redactUrl } from '../util/secrets.js';
import type { ReplicaLink } from './plan.js';

const q = (n: string) => `"${n.replace(/"/g, '""')}"`;

export interface LogicalPair {
  primary: SiteSpec;
  replica: SiteSpec;
  tables: string[];
  publication: string;
  subscription: string;
  slot: string;
}

function hostOf(url: string): string {
  try {
    const u = new URL(url.replace(/\$\{[^}]*\}/g, 'x'));
    return `${u.hostname}:${u.port}${u.pathname}`;
  } catch {
    return redactUrl(url);
  }
}

export function logicalPair(links: readonly ReplicaLink[]): LogicalPair {
  const { primary, replica } = links[0]!;
  // Slots are named per server: the hash tells apart designs that reuse site names on one server.
  const hash = createHash('sha1')
    .update(`${hostOf(primary.url)}\n${hostOf(replica.url)}\n${primary.name}\n${replica.name}`)
    .digest('hex')
    .slice(0, 10);
  const tag = replica.name.toLowerCase().slice(0, 30);
  return {
    primary,
    replica,
    tables: links.map((l) => l.fragment.name.toLowerCase()),
    publication: `ddbkit_to_${tag}`,
    subscription: `ddbkit_from_${primary.name.toLowerCase().slice(0, 30)}`,
    slot: `ddbkit_${tag}_${hash}`,
  };
}

export function publicationSql(p: LogicalPair, exists: boolean): string {
  const tables = p.tables.map(q).join(', ');
  return exists
    ? `ALTER PUBLICATION ${q(p.publication)} SET TABLE ${tables}`
    : `CREATE PUBLICATION ${q(p.publication)} FOR TABLE ${tables}`;
}

export function createSlotSql(p: LogicalPair): string {
  return `SELECT pg_create_logical_replication_slot(${sqlString(p.slot)}, 'pgoutput')`;
}

const conninfoValue = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * The conninfo reaching the primary. `password` is the real one (deploy) or a placeholder
 * (scripts); without a password in the URL there is none.
 */
export function conninfo(primary: SiteSpec, password: 'real' | 'placeholder'): string {
  const raw = password === 'real' ? expandEnv(primary.url) : primary.url.replace(/\$\{[^}]*\}/g, 'placeholder');
  const u = new URL(raw);
  const parts = [`host=${conninfoValue(u.hostname)}`];
  if (u.port) parts.push(`port=${conninfoValue(u.port)}`);
  parts.push(`dbname=${conninfoValue(decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres')}`);
  if (u.username) parts.push(`user=${conninfoValue(decodeURIComponent(u.username))}`);
  if (u.password) {
    const pw = password === 'real' ? decodeURIComponent(u.password) : `__${primary.name.toUpperCase()}_PASSWORD__`;
    parts.push(`password=${conninfoValue(pw)}`);
  }
  for (const [k, v] of u.searchParams)
    if (/^(sslmode|sslrootcert|connect_timeout|application_name)$/.test(k)) parts.push(`${k}=${conninfoValue(v)}`);
  return parts.join(' ');
}

/** The password in the primary's URL, expanded (to scrub it from errors), or undefined. */
export function primaryPassword(primary: SiteSpec): string | undefined {
  try {
    const u = new URL(expandEnv(primary.url));
    return u.password ? decodeURIComponent(u.password) : undefined;
  } catch {
    return undefined;
  }
}

export function createSubscriptionSql(p: LogicalPair, info: string, forScript: boolean): string {
  const options = forScript
    ? `connect = false, slot_name = ${sqlString(p.slot)}`
    : `create_slot = false, slot_name = ${sqlString(p.slot)}, copy_data = false`;
  return `CREATE SUBSCRIPTION ${q(p.subscription)} CONNECTION ${sqlString(info)} PUBLICATION ${q(p.publication)} WITH (${options})`;
}

export function refreshSubscriptionSql(p: LogicalPair): string {
  return `ALTER SUBSCRIPTION ${q(p.subscription)} REFRESH PUBLICATION WITH (copy_data = false)`;
}

export function dropSubscriptionSql(p: LogicalPair): string {
  return `DROP SUBSCRIPTION IF EXISTS ${q(p.subscription)}`;
}

export function dropPublicationSql(p: LogicalPair): string {
  return `DROP PUBLICATION IF EXISTS ${q(p.publication)}`;
}

export function dropSlotSql(p: LogicalPair): string {
  return `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ${sqlString(p.slot)}`;
}

/**
 * At the primary: how far the subscriber is. `bytes` is the WAL the subscriber has not confirmed
 * (pg_current_wal_lsn − the slot's confirmed_flush_lsn; it counts WAL of the whole server, so it
 * is an upper bound), `seconds` PostgreSQL's replay_lag for the slot's sender (NULL when idle).
 */
export function slotLagSql(p: LogicalPair): string {
  return `SELECT s.active, pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::bigint AS bytes, r.state, extract(epoch FROM r.replay_lag)::float8 AS seconds FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid WHERE s.slot_name = ${sqlString(p.slot)}`;
}
