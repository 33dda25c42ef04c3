/**
 * Verification of a deployment, done by ddbkit on canonical values: every fragment on every
 * replica has the same row count and order-independent checksum as the fragment computed on the
 * source, and every global relation rebuilt by ddbkit from the sites equals the source relation.
 */
import type { Column } from '../catalog/types.js';
import { fragmentSelectSql } from '../design/membership-sql.js';
import type { ResolvedDesign, ResolvedFragment } from '../design/resolve.js';
import type { SiteConnector } from '../engines/connector.js';
import { canonicalValue, valueTypeOf } from '../engines/values.js';
import { domainOf } from '../predicate/index.js';
import type { Key } from '../predicate/index.js';
import { type ReconstructionPlan, analyzeRelation } from '../validate/reconstruction.js';
import { RowDigest, type RowSetDigest } from './checksum.js';
import { tableName } from './layout.js';

export interface FragmentVerification {
  fragment: string;
  site: string;
  table: string;
  source: RowSetDigest;
  site_rows: RowSetDigest;
  ok: boolean;
  problem?: string;
}

export interface RelationVerification {
  relation: string;
  source: RowSetDigest;
  rebuilt: RowSetDigest;
  ok: boolean;
}

export interface VerificationReport {
  ok: boolean;
  fragments: FragmentVerification[];
  relations: RelationVerification[];
}

const BATCH = 5000;
const q = (n: string) => `"${n.replace(/"/g, '""')}"`;

function columnsOf(f: ResolvedFragment): Column[] {
  const stored = new Set(f.columns);
  return f.relation.columns.filter((c) => stored.has(c.name));
}

export function siteSelect(connector: SiteConnector, f: ResolvedFragment): string {
  const d = connector.dialect;
  return `SELECT ${columnsOf(f)
    .map((c) => d.quoteIdentifier(c.name))
    .join(', ')} FROM ${d.quoteIdentifier(tableName(f))}`;
}

export async function digestSourceFragment(source: SiteConnector, f: ResolvedFragment): Promise<RowSetDigest> {
  const types = columnsOf(f).map((c) => c.type);
  return (await new RowDigest().addAll(source.stream(fragmentSelectSql(f, false), BATCH, types))).digest();
}

export async function digestSiteFragment(site: SiteConnector, f: ResolvedFragment): Promise<RowSetDigest> {
  const types = columnsOf(f).map((c) => c.type);
  return (await new RowDigest().addAll(site.stream(siteSelect(site, f), BATCH, types))).digest();
}

export async function verifyDeployment(
  resolved: ResolvedDesign,
  source: SiteConnector,
  sites: ReadonlyMap<string, SiteConnector>,
): Promise<VerificationReport> {
  const fragments: FragmentVerification[] = [];
  for (const f of resolved.fragments) {
    const expected = await digestSourceFragment(source, f);
    for (const site of f.sites) {
      const connector = sites.get(site.name)!;
      let actual: RowSetDigest;
      try {
        actual = await digestSiteFragment(connector, f);
      } catch (e) {
        fragments.push({
          fragment: f.name,
          site: site.name,
          table: tableName(f),
          source: expected,
          site_rows: { rows: 0, checksum: '' },
          ok: false,
          problem: (e as Error).message,
        });
        continue;
      }
      const ok = actual.rows === expected.rows && actual.checksum === expected.checksum;
      fragments.push({
        fragment: f.name,
        site: site.name,
        table: tableName(f),
        source: expected,
        site_rows: actual,
        ok,
        ...(ok
          ? {}
          : {
              problem:
                actual.rows !== expected.rows
                  ? `${actual.rows} rows on the site, ${expected.rows} in the source`
                  : 'same row count, different contents (checksums differ)',
            }),
      });
    }
  }

  const relations: RelationVerification[] = [];
  for (const rr of resolved.relations) {
    if (rr.fragments.length === 0) continue;
    const { plan } = analyzeRelation(rr);
    const columns = rr.relation.columns;
    const sourceDigest = (
      await new RowDigest().addAll(
        source.stream(
          `SELECT ${columns.map((c) => q(c.name)).join(', ')} FROM ${q(rr.relation.name)}`,
          BATCH,
          columns.map((c) => c.type),
        ),
      )
    ).digest();
    const names = columns.map((c) => c.name);
    const digest = new RowDigest();
    const pieces = unionLeaves(plan);
    if (pieces) {
      // Horizontal pieces only: each streams straight into the checksum (memory stays flat).
      for (const piece of pieces) {
        const f = piece.fragment;
        const connector = sites.get(f.sites[0]!.name)!;
        const stored = columnsOf(f);
        const at = names.map((n) => stored.findIndex((c) => c.name === n));
        const implied = names.map((n) => (piece.implied.has(n) ? canonicalImplied(f, n, piece.implied.get(n)!) : null));
        for await (const batch of connector.stream(
          siteSelect(connector, f),
          BATCH,
          stored.map((c) => c.type),
        )) {
          for (const row of batch) digest.add(at.map((i, k) => (i >= 0 ? row[i] : implied[k])));
        }
      }
    } else {
      const rebuilt = await rebuild(plan, sites);
      for (const row of rebuilt.rows) digest.add(names.map((n) => row[rebuilt.columns.indexOf(n)] ?? null));
    }
    const rebuiltDigest = digest.digest();
    relations.push({
      relation: rr.relation.name,
      source: sourceDigest,
      rebuilt: rebuiltDigest,
      ok: sourceDigest.rows === rebuiltDigest.rows && sourceDigest.checksum === rebuiltDigest.checksum,
    });
  }
  return { ok: fragments.every((f) => f.ok) && relations.every((r) => r.ok), fragments, relations };
}

/** The plan's fragments when it is a plain union of them (no key join), else undefined. */
function unionLeaves(plan: ReconstructionPlan): Array<Extract<ReconstructionPlan, { kind: 'fragment' }>> | undefined {
  if (plan.kind === 'fragment') return [plan];
  if (plan.kind === 'empty') return [];
  if (plan.kind === 'union') {
    const parts = plan.parts.map(unionLeaves);
    return parts.every((p) => p !== undefined) ? parts.flat() : undefined;
  }
  return undefined;
}

interface Rows {
  columns: string[];
  rows: unknown[][];
}

function canonicalImplied(f: ResolvedFragment, column: string, key: Key | null): unknown {
  if (key === null) return null;
  const type = f.relation.columns.find((c) => c.name === column)!.type;
  const d = domainOf(type);
  const spelled = type.family === 'decimal' ? d.toSql(key) : d.toJson(key);
  return canonicalValue(spelled, valueTypeOf(type));
}

/** Rebuilds a relation from the sites by the reconstruction plan (ddbkit's own reconstruction). */
async function rebuild(plan: ReconstructionPlan, sites: ReadonlyMap<string, SiteConnector>): Promise<Rows> {
  switch (plan.kind) {
    case 'empty':
      return { columns: [], rows: [] };
    case 'fragment': {
      const f = plan.fragment;
      const connector = sites.get(f.sites[0]!.name)!;
      const columns = columnsOf(f);
      const rows: unknown[][] = [];
      const implied = [...plan.implied].map(([c, k]) => canonicalImplied(f, c, k));
      for await (const batch of connector.stream(
        siteSelect(connector, f),
        BATCH,
        columns.map((c) => c.type),
      )) {
        for (const row of batch) rows.push(implied.length ? [...row, ...implied] : row);
      }
      return { columns: [...columns.map((c) => c.name), ...plan.implied.keys()], rows };
    }
    case 'union': {
      const parts = await Promise.all(plan.parts.map((p) => rebuild(p, sites)));
      const columns = [...new Set(parts.flatMap((p) => p.columns))];
      const rows = parts.flatMap((p) =>
        p.rows.map((r) => columns.map((c) => (p.columns.includes(c) ? r[p.columns.indexOf(c)] : null))),
      );
      return { columns, rows };
    }
    case 'join': {
      const parts = await Promise.all(plan.parts.map((p) => rebuild(p, sites)));
      const keyOf = (p: Rows, r: unknown[]) => JSON.stringify(plan.key.map((k) => r[p.columns.indexOf(k)]));
      let acc = parts[0]!;
      for (const next of parts.slice(1)) {
        const index = new Map(next.rows.map((r) => [keyOf(next, r), r]));
        const extra = next.columns.filter((c) => !acc.columns.includes(c));
        const rows: unknown[][] = [];
        for (const r of acc.rows) {
          const match = index.get(keyOf(acc, r));
          if (match) rows.push([...r, ...extra.map((c) => match[next.columns.indexOf(c)])]);
        }
        acc = { columns: [...acc.columns, ...extra], rows };
      }
      return acc;
    }
  }
}
