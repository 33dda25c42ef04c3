/**
 * How far each async replica is behind its primary.
 * - outbox replicas: `changes` = changes captured at the primary and not yet applied at the
 *   replica (outbox rows after its applied seq, for its fragments); `seconds` = age, by the
 *   primary's clock, of the oldest of them (0 when none).
 * - PostgreSQL logical replication: `bytes` = WAL the subscriber has not confirmed (the slot's
 *   confirmed_flush_lsn against pg_current_wal_lsn() at the primary: WAL of the whole server, so
 *   an upper bound); `seconds` = PostgreSQL's replay_lag of the slot's sender (0 when caught up);
 *   `changes` is not known (null).
 */
import type { ResolvedDesign } from '../design/resolve.js';
import type { SiteConnector } from '../engines/connector.js';
import { sqlString } from '../engines/dialect.js';
import { OUTBOX } from './engines/base.js';
import { replicationFor } from './engines/registry.js';
import { slotLagSql } from './logical.js';
import { type Mechanism, groupBy, replicaLinks } from './plan.js';
import { logicalPairs } from './setup.js';
import { appliedSeqs } from './sync.js';

export interface ReplicaLag {
  fragment: string;
  primary: string;
  replica: string;
  mechanism: Mechanism;
  changes: number | null;
  seconds: number | null;
  /** Logical replication: WAL bytes not yet confirmed by the subscriber. */
  bytes?: number;
  /** Logical replication: the sender's state (streaming, catchup…), or `inactive` when no subscriber is connected. */
  state?: string;
  /** The lag could not be read (a site unreachable, replication not set up). */
  error?: string;
}

function toMs(v: unknown): number {
  const s = String(v).trim().replace(' ', 'T');
  const m = /^(\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,3})?\d*(Z|[+-]\d\d(:?\d\d)?)?$/.exec(s);
  if (!m) return Date.parse(s);
  return Date.parse(`${m[1]}${m[2] ?? ''}${m[3] ?? 'Z'}`);
}

/** Lag of every async replica; `connectors` holds the reachable sites. */
export async function replicationLag(
  resolved: ResolvedDesign,
  connectors: ReadonlyMap<string, SiteConnector>,
): Promise<ReplicaLag[]> {
  const links = replicaLinks(resolved);
  const out: ReplicaLag[] = [];
  const base = (l: (typeof links)[number]) => ({
    fragment: l.fragment.name,
    primary: l.primary.name,
    replica: l.replica.name,
    mechanism: l.mechanism,
  });
  for (const [, pair] of groupBy(
    links.filter((l) => l.mechanism === 'outbox'),
    (l) => `${l.primary.name}\u0000${l.replica.name}`,
  )) {
    const p = connectors.get(pair[0]!.primary.name);
    const r = connectors.get(pair[0]!.replica.name);
    if (!p || !r) {
      const down = !p ? pair[0]!.primary.name : pair[0]!.replica.name;
      for (const l of pair) out.push({ ...base(l), changes: null, seconds: null, error: `${down} is not reachable` });
      continue;
    }
    let applied: Map<string, number>;
    try {
      applied = await appliedSeqs(r, pair);
    } catch (e) {
      for (const l of pair) out.push({ ...base(l), changes: null, seconds: null, error: (e as Error).message });
      continue;
    }
    const rd = replicationFor(pair[0]!.primary.engine);
    const [clock] = await p.query<{ now: unknown }>(`SELECT ${rd.nowSql()} AS now`);
    const now = toMs(clock?.now);
    for (const l of pair) {
      const [row] = await p.query<{ n: unknown; oldest: unknown }>(
        `SELECT count(*) AS n, min(captured_at) AS oldest FROM ${p.dialect.quoteIdentifier(OUTBOX)} WHERE fragment = ${sqlString(l.fragment.name)} AND seq > ${applied.get(l.fragment.name)!}`,
      );
      const changes = Number(row?.n ?? 0);
      const seconds = changes === 0 || row?.oldest == null ? 0 : Math.max(0, (now - toMs(row.oldest)) / 1000);
      out.push({ ...base(l), changes, seconds });
    }
  }
  for (const pair of logicalPairs(links)) {
    const mine = links.filter((l) => l.mechanism === 'logical' && l.primary === pair.primary && l.replica === pair.replica);
    const p = connectors.get(pair.primary.name);
    if (!p) {
      for (const l of mine)
        out.push({ ...base(l), changes: null, seconds: null, error: `${pair.primary.name} is not reachable` });
      continue;
    }
    const [row] = await p.query<{ active: unknown; bytes: unknown; state: unknown; seconds: unknown }>(slotLagSql(pair));
    for (const l of mine) {
      if (!row) {
        out.push({
          ...base(l),
          changes: null,
          seconds: null,
          error: `no replication slot ${pair.slot} at ${pair.primary.name}: run \`ddbkit deploy\``,
        });
        continue;
      }
      const bytes = Number(row.bytes ?? 0);
      const seconds = row.seconds == null ? (bytes === 0 ? 0 : null) : Number(row.seconds);
      out.push({ ...base(l), changes: null, seconds, bytes, state: row.active ? String(row.state ?? 'starting') : 'inactive' });
    }
  }
  // In the order of the design: fragment by fragment, replicas as listed.
  const order = (l: ReplicaLag) => links.findIndex((x) => x.fragment.name === l.fragment && x.replica.name === l.replica);
  return out.sort((a, b) => order(a) - order(b));
}
