/**
 * Localization and reduction: each global relation the query reads is replaced by its
 * reconstruction plan, then reduced — horizontal fragments whose predicate contradicts what the
 * query asks are dropped (proven by the predicate logic, with the contradiction as the reason),
 * vertical fragments holding none of the needed columns are dropped, a replica is chosen for each
 * remaining fragment, and the query's single-relation conditions and column needs are pushed into
 * the SQL sent to that site, in its own dialect.
 */
import type { ResolvedDesign, ResolvedFragment, ResolvedRelation } from '../design/resolve.js';
import type { SiteSpec } from '../design/schema.js';
import { tableName } from '../deploy/layout.js';
import { dialectFor } from '../engines/dialect-registry.js';
import { type Predicate, Universe, and, renderSql, variablesOf } from '../predicate/index.js';
import { type ReconstructionPlan, analyzeRelation } from '../validate/reconstruction.js';
import type { RelationNeeds } from './analyze.js';

export interface FragmentAccess {
  fragment: ResolvedFragment;
  site: SiteSpec;
  table: string;
  /** Stored columns fetched (needed ones, and the key). */
  columns: string[];
  /** Conditions evaluated at the site. */
  filter?: Predicate;
  /** The SELECT sent to the site, in its dialect: `base`, then `where`, then `suffix` (see {@link accessSql}). */
  sql: string;
  /** `SELECT columns FROM table`. */
  base: string;
  /** Conditions evaluated at the site, in its dialect (the filter, then any semijoin reduction). */
  where: string[];
  /** ORDER BY … LIMIT (top-N pushdown), when the query allows it. */
  suffix?: string;
  /** The rows the cost model expects this query to return (statistics × selectivity). */
  estimatedRows?: number;
  /** Set by a semijoin whose key set was empty: nothing can join, the site is not asked. */
  skip?: boolean;
}

/** The SQL of a fragment access from its parts (called again after top-N or semijoin edits). */
export function accessSql(a: Pick<FragmentAccess, 'base' | 'where' | 'suffix'>): string {
  const where = a.where.length === 1 ? a.where[0]! : a.where.map((w) => `(${w})`).join(' AND '); // an OR must not bind across the AND
  return `${a.base}${a.where.length ? ` WHERE ${where}` : ''}${a.suffix ? ` ${a.suffix}` : ''}`;
}

export type ReducedPlan =
  | { kind: 'fragment'; access: FragmentAccess; implied: Map<string, import('../predicate/index.js').Key | null> }
  | { kind: 'union'; parts: ReducedPlan[] }
  | { kind: 'join'; key: string[]; parts: ReducedPlan[] }
  | { kind: 'empty' };

export interface PrunedFragment {
  fragment: string;
  relation: string;
  reason: string;
}

export interface RelationAccess {
  relation: ResolvedRelation;
  needs: RelationNeeds;
  plan: ReducedPlan;
  pruned: PrunedFragment[];
}

export interface LocalizeOptions {
  /** Preferred sites when a fragment has replicas (e.g. the decision site, or sites already used). */
  preferSites?: string[];
  /** The relation's analysis, which never changes for a design: cached by the caller. */
  analysis?: (r: ResolvedRelation) => { universe: Universe; plan: ReconstructionPlan };
}

export function localize(resolved: ResolvedDesign, needs: RelationNeeds, options: LocalizeOptions = {}): RelationAccess {
  const rr = resolved.relations.find((r) => r.relation === needs.relation)!;
  const pruned: PrunedFragment[] = [];
  if (rr.fragments.length === 0) return { relation: rr, needs, plan: { kind: 'empty' }, pruned };
  const { universe, plan } = options.analysis?.(rr) ?? analyzeRelation(rr);
  const queryText = describe(needs.predicate);
  const reduce = (p: ReconstructionPlan): ReducedPlan => {
    switch (p.kind) {
      case 'empty':
        return p;
      case 'fragment': {
        const f = p.fragment;
        const together = universe.findRow([
          { predicate: f.membership, is: 'true' },
          { predicate: needs.predicate, is: 'true' },
        ]);
        if (!together) {
          pruned.push({
            fragment: f.name,
            relation: rr.relation.name,
            reason: `${membershipText(f)} contradicts ${queryText}`,
          });
          return { kind: 'empty' };
        }
        const implied = new Map([...p.implied].filter(([c]) => needs.columns.has(c)));
        return { kind: 'fragment', access: access(f, needs, options), implied };
      }
      case 'union': {
        const parts = p.parts.map(reduce).filter((x) => x.kind !== 'empty');
        if (parts.length === 0) return { kind: 'empty' };
        return parts.length === 1 ? parts[0]! : { kind: 'union', parts };
      }
      case 'join': {
        // Vertical parts holding no needed non-key column are not fetched; one part always stays.
        const key = new Set(p.key);
        const useful = p.parts.filter((part) => providesNeeded(part, needs, key));
        const kept = useful.length > 0 ? useful : [p.parts[0]!];
        const parts = kept.map(reduce);
        if (parts.some((x) => x.kind === 'empty')) {
          return { kind: 'empty' };
        }
        for (const dropped of p.parts.filter((x) => !kept.includes(x))) {
          for (const f of fragmentsOf(dropped)) {
            pruned.push({
              fragment: f.name,
              relation: rr.relation.name,
              reason: `holds none of the columns the query reads (${[...needs.columns].join(', ')})`,
            });
          }
        }
        return parts.length === 1 ? parts[0]! : { kind: 'join', key: p.key, parts };
      }
    }
  };
  return { relation: rr, needs, plan: reduce(plan), pruned };
}

function providesNeeded(p: ReconstructionPlan, needs: RelationNeeds, key: Set<string>): boolean {
  switch (p.kind) {
    case 'fragment':
      return [...p.fragment.columns, ...p.implied.keys()].some((c) => needs.columns.has(c) && !key.has(c));
    case 'union':
    case 'join':
      return p.parts.some((x) => providesNeeded(x, needs, key));
    case 'empty':
      return false;
  }
}

function fragmentsOf(p: ReconstructionPlan): ResolvedFragment[] {
  switch (p.kind) {
    case 'fragment':
      return [p.fragment];
    case 'union':
    case 'join':
      return p.parts.flatMap(fragmentsOf);
    case 'empty':
      return [];
  }
}

function conjunctsOf(p: Predicate): Predicate[] {
  return p.kind === 'and' ? p.args.flatMap(conjunctsOf) : p.kind === 'const' && p.value === true ? [] : [p];
}

function access(f: ResolvedFragment, needs: RelationNeeds, options: LocalizeOptions): FragmentAccess {
  const prefer = options.preferSites ?? [];
  const site = [...f.sites].sort((a, b) => rank(prefer, a.name) - rank(prefer, b.name))[0]!;
  const dialect = dialectFor(site.engine);
  const stored = new Set(f.columns);
  const key = new Set(f.relation.primaryKey);
  const columns = f.columns.filter((c) => needs.columns.has(c) || key.has(c));
  // Only conditions on stored columns can run at the site; the coordinator re-applies them all.
  const pushable = conjunctsOf(needs.predicate).filter((c) => [...variablesOf(c).values()].every((v) => stored.has(v.name)));
  const filter = pushable.length > 0 ? and(...pushable) : undefined;
  const table = tableName(f);
  const base = `SELECT ${columns.map((c) => dialect.quoteIdentifier(c)).join(', ')} FROM ${dialect.quoteIdentifier(table)}`;
  const where = filter ? [dialect.renderPredicate(filter)] : [];
  return { fragment: f, site, table, columns, ...(filter ? { filter } : {}), base, where, sql: accessSql({ base, where }) };
}

/** How a fragment selects its rows, for pruning reasons: its predicate, or the parent it follows. */
function membershipText(f: ResolvedFragment): string {
  const own = f.spec.where?.trim();
  if (!f.parent) return own ?? 'its rows';
  const parent = `follows ${f.parent.fragment.name} (${membershipText(f.parent.fragment)})`;
  return own ? `${own} and ${parent}` : parent;
}

function rank(prefer: string[], site: string): number {
  const i = prefer.indexOf(site);
  return i < 0 ? prefer.length : i;
}

function describe(p: Predicate): string {
  return p.kind === 'const' ? String(p.value).toUpperCase() : renderSql(p, { column: (v) => v.name });
}
