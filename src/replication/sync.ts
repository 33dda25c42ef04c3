/**
 * `ddbkit sync`: applies each primary's change log to its outbox replicas, exactly once. Changes
 * are read in seq order in batches; a batch is reduced to its net effect per primary key (the
 * last change of a key wins; an update that changes the key deletes the old one) and applied at
 * the replica as deletes and upserts in one local transaction that also records the batch's last
 * seq in ddbkit_applied. A crash leaves either the whole batch with its seq or neither. Changes
 * every replica has applied are then removed from the outbox.
 */
import { UserError } from '../design/errors.js';
import type { ResolvedDesign } from '../design/resolve.js';
import type { SiteConnector } from '../engines/connector.js';
import { sqlString } from '../engines/dialect.js';
import { APPLIED, type CapturedTable, OUTBOX, decodeValue } from './engines/base.js';
import { replicationFor } from './engines/registry.js';
import { type Mechanism, type ReplicaLink, capturedTable, groupBy, replicaLinks } from './plan.js';

export interface SyncOptions {
  /** Changes read and applied per transaction (default 5000). */
  batchSize?: number;
  /** Remove from the outbox the changes every replica has applied (default true). */
  prune?: boolean;
}

export interface PairSync {
  primary: string;
  replica: string;
  mechanism: Mechanism;
  fragments: string[];
  /** Outbox changes applied (0 for logical replication, which PostgreSQL applies itself). */
  changes: number;
  upserts: number;
  deletes: number;
  /** The last seq applied at the replica after this run. */
  seq: number;
  seconds: number;
}

export interface SyncReport {
  pairs: PairSync[];
  /** Outbox rows removed per primary. */
  pruned: Record<string, number>;
}

/** A replica was never set up for a fragment it should follow: deploy has not run (or is older). */
export class NotSetUpError extends UserError {
  override name = 'NotSetUpError';
}

const keyText = (values: unknown[]): string =>
  JSON.stringify(values.map((v) => (Buffer.isBuffer(v) ? `\\x${v.toString('hex')}` : v)));

interface Outbox {
  seq: number;
  fragment: string;
  op: string;
  key_json: string;
  row_json: string | null;
}

export async function syncReplicas(
  resolved: ResolvedDesign,
  connectors: ReadonlyMap<string, SiteConnector>,
  options: SyncOptions = {},
): Promise<SyncReport> {
  const batch = Math.max(1, options.batchSize ?? 5000);
  const links = replicaLinks(resolved);
  const report: SyncReport = { pairs: [], pruned: {} };
  const appliedBy = new Map<string, number[]>();
  for (const [, pair] of groupBy(links, (l) => `${l.primary.name}\u0000${l.replica.name}`)) {
    const { primary, replica, mechanism } = pair[0]!;
    const fragments = pair.map((l) => l.fragment.name);
    if (mechanism === 'logical') {
      report.pairs.push({
        primary: primary.name,
        replica: replica.name,
        mechanism,
        fragments,
        changes: 0,
        upserts: 0,
        deletes: 0,
        seq: 0,
        seconds: 0,
      });
      continue;
    }
    const result = await syncPair(pair, connectors, batch);
    report.pairs.push(result);
    const list = appliedBy.get(primary.name) ?? [];
    list.push(result.seq);
    appliedBy.set(primary.name, list);
  }
  if (options.prune !== false) {
    for (const [site, seqs] of appliedBy) {
      const c = connectors.get(site)!;
      const upTo = Math.min(...seqs);
      const [row] = await c.query<{ n: unknown }>(
        `SELECT count(*) AS n FROM ${c.dialect.quoteIdentifier(OUTBOX)} WHERE seq <= ${upTo}`,
      );
      const n = Number(row?.n ?? 0);
      if (n > 0) await c.execute(`DELETE FROM ${c.dialect.quoteIdentifier(OUTBOX)} WHERE seq <= ${upTo}`);
      report.pruned[site] = n;
    }
  }
  return report;
}

/** The applied seq of each fragment at a replica; a fragment without a row is a NotSetUpError. */
export async function appliedSeqs(replica: SiteConnector, links: readonly ReplicaLink[]): Promise<Map<string, number>> {
  const names = links.map((l) => l.fragment.name);
  let rows: Array<{ fragment: unknown; seq: unknown }>;
  try {
    rows = await replica.query(
      `SELECT fragment, seq FROM ${replica.dialect.quoteIdentifier(APPLIED)} WHERE fragment IN (${names.map(sqlString).join(', ')})`,
    );
  } catch {
    rows = [];
  }
  const applied = new Map(rows.map((r) => [String(r.fragment), Number(r.seq)]));
  const missing = names.filter((n) => !applied.has(n));
  if (missing.length > 0) {
    throw new NotSetUpError(
      `site ${links[0]!.replica.name} is not set up to follow ${missing.join(', ')} (no ${APPLIED} row): run \`ddbkit deploy\` first`,
    );
  }
  return applied;
}

async function syncPair(pair: ReplicaLink[], connectors: ReadonlyMap<string, SiteConnector>, batch: number): Promise<PairSync> {
  const started = performance.now();
  const { primary, replica } = pair[0]!;
  const p = connectors.get(primary.name)!;
  const r = connectors.get(replica.name)!;
  const rr = replicationFor(replica.engine);
  const tables = new Map<string, CapturedTable>(pair.map((l) => [l.fragment.name, capturedTable(l.fragment)]));
  const names = [...tables.keys()];
  const applied = await appliedSeqs(r, pair);
  const result: PairSync = {
    primary: primary.name,
    replica: replica.name,
    mechanism: 'outbox',
    fragments: names,
    changes: 0,
    upserts: 0,
    deletes: 0,
    seq: Math.min(...applied.values()),
    seconds: 0,
  };
  const qo = (n: string) => p.dialect.quoteIdentifier(n);
  for (;;) {
    const from = Math.min(...applied.values());
    const rows = await p.query<Record<string, unknown>>(
      `SELECT seq, fragment, op, key_json, row_json FROM ${qo(OUTBOX)} WHERE seq > ${from} AND fragment IN (${names.map(sqlString).join(', ')}) ORDER BY seq LIMIT ${batch}`,
    );
    if (rows.length === 0) break;
    const changes: Outbox[] = rows.map((x) => ({
      seq: Number(x.seq),
      fragment: String(x.fragment),
      op: String(x.op),
      key_json: String(x.key_json),
      row_json: x.row_json === null || x.row_json === undefined ? null : String(x.row_json),
    }));
    const last = changes[changes.length - 1]!.seq;
    // The net effect per fragment and key, in seq order: a row to upsert, or null to delete.
    const net = new Map<string, Map<string, { key: unknown[]; row: unknown[] | null }>>();
    let count = 0;
    for (const ch of changes) {
      if (ch.seq <= applied.get(ch.fragment)!) continue;
      count++;
      const t = tables.get(ch.fragment)!;
      let state = net.get(ch.fragment);
      if (!state) net.set(ch.fragment, (state = new Map()));
      const keyTypes = t.primaryKey.map((k) => t.columns.find((c) => c.name === k)!.type);
      const keyObj = JSON.parse(ch.key_json) as Record<string, unknown>;
      const key = t.primaryKey.map((k, i) => decodeValue(keyObj[k], keyTypes[i]!));
      if (ch.op === 'D' || ch.op === 'U') state.set(keyText(key), { key, row: null });
      if (ch.op === 'I' || ch.op === 'U') {
        const rowObj = JSON.parse(ch.row_json ?? '{}') as Record<string, unknown>;
        const row = t.columns.map((c) => decodeValue(rowObj[c.name], c.type));
        const newKey = t.primaryKey.map((k) => row[t.columns.findIndex((c) => c.name === k)]);
        state.set(keyText(newKey), { key: newKey, row });
      }
    }
    await r.begin();
    try {
      for (const [fragment, state] of net) {
        const t = tables.get(fragment)!;
        const deletes = [...state.values()].filter((s) => s.row === null).map((s) => s.key);
        const upserts = [...state.values()].filter((s) => s.row !== null).map((s) => s.row!);
        for (let i = 0; i < deletes.length; i += 500)
          await r.execute(rr.deleteSql(t.table, t.columns, t.primaryKey, deletes.slice(i, i + 500)));
        const per = Math.max(1, Math.floor(20_000 / t.columns.length));
        for (let i = 0; i < upserts.length; i += per)
          await r.execute(rr.upsertSql(t.table, t.columns, t.primaryKey, upserts.slice(i, i + per)));
        result.deletes += deletes.length;
        result.upserts += upserts.length;
      }
      await r.execute(rr.appliedUpdateSql(names, last, new Date().toISOString()));
      await r.commit();
    } catch (e) {
      await r.rollback().catch(() => {});
      throw e;
    }
    for (const n of names) applied.set(n, Math.max(applied.get(n)!, last));
    result.changes += count;
    result.seq = Math.min(...applied.values());
    if (rows.length < batch) break;
  }
  result.seconds = (performance.now() - started) / 1000;
  return result;
}
