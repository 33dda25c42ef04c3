/**
 * What each fragment provides and how a relation is rebuilt from its fragments: the
 * reconstruction plan, shared by validation (its algebra is printed), script generation (views at
 * the decision site) and verification (ddbkit rebuilds the relation itself).
 */
import type { ResolvedFragment, ResolvedRelation } from '../design/resolve.js';
import { type Key, type Predicate, Universe, domainOf, variablesOf } from '../predicate/index.js';

/** A fragment as validation sees it: what it stores, and what its predicate fixes. */
export interface FragmentFacts {
  fragment: ResolvedFragment;
  stored: Set<string>;
  /** Columns not stored whose value the membership predicate fixes (restored as constants). */
  implied: Map<string, Key | null>;
  /** stored ∪ implied. */
  provides: Set<string>;
  /** The membership can never be TRUE. */
  empty: boolean;
}

export type ReconstructionPlan =
  | { kind: 'fragment'; fragment: ResolvedFragment; implied: Map<string, Key | null> }
  /** Horizontal pieces: their rows united (UNION ALL when the design is disjoint). */
  | { kind: 'union'; parts: ReconstructionPlan[] }
  /** Vertical pieces: joined on the primary key. */
  | { kind: 'join'; key: string[]; parts: ReconstructionPlan[] }
  | { kind: 'empty' };

export interface RelationAnalysis {
  universe: Universe;
  facts: FragmentFacts[];
  /** Fragments grouped by equivalent memberships (same rows), most specific groups first. */
  classes: Array<{ predicate: Predicate; members: FragmentFacts[] }>;
  plan: ReconstructionPlan;
}

export function analyzeRelation(r: ResolvedRelation, universe = new Universe(r.constraints)): RelationAnalysis {
  const columns = r.relation.columns.map((c) => c.name);
  // Only a column the membership or a CHECK mentions can be fixed by them.
  const constrained = new Set<string>();
  for (const c of r.constraints) for (const id of variablesOf(c).keys()) constrained.add(id);
  const facts: FragmentFacts[] = r.fragments.map((fragment) => {
    const stored = new Set(fragment.columns);
    const implied = new Map<string, Key | null>();
    const empty = !universe.satisfiable(fragment.membership);
    if (!empty) {
      const mentioned = variablesOf(fragment.membership);
      for (const column of columns) {
        const variable = r.variables.get(column)!;
        if (stored.has(column) || !(mentioned.has(variable.id) || constrained.has(variable.id))) continue;
        const fixed = universe.fixedValue(fragment.membership, variable);
        if (fixed) implied.set(column, fixed.key);
      }
    }
    return { fragment, stored, implied, provides: new Set([...stored, ...implied.keys()]), empty };
  });
  const classes = horizontalClasses(facts, universe);
  return { universe, facts, classes, plan: planOf(r, facts, classes, universe) };
}

function horizontalClasses(facts: FragmentFacts[], universe: Universe): RelationAnalysis['classes'] {
  const classes: RelationAnalysis['classes'] = [];
  for (const f of facts) {
    const home = classes.find((c) => universe.equivalent(c.predicate, f.fragment.membership));
    if (home) home.members.push(f);
    else classes.push({ predicate: f.fragment.membership, members: [f] });
  }
  // A class that implies another is more specific: it comes first (stable otherwise).
  const depth = (c: (typeof classes)[number]) =>
    classes.filter((o) => o !== c && universe.implies(c.predicate, o.predicate)).length;
  const depths = new Map(classes.map((c) => [c, depth(c)]));
  return classes
    .map((c, i) => ({ c, i }))
    .sort((x, y) => depths.get(y.c)! - depths.get(x.c)! || x.i - y.i)
    .map((x) => x.c);
}

/**
 * The reconstruction program. When each group of fragments selecting the same rows is
 * self-contained, the relation is a union of those groups (each a key join of its vertical
 * pieces); otherwise it is a key join of column groups, each a union of its horizontal pieces.
 */
function planOf(
  r: ResolvedRelation,
  facts: FragmentFacts[],
  classes: RelationAnalysis['classes'],
  universe: Universe,
): ReconstructionPlan {
  const key = r.relation.primaryKey;
  const columns = r.relation.columns.map((c) => c.name);
  const live = facts.filter((f) => !f.empty);
  if (live.length === 0) return { kind: 'empty' };
  const leaf = (f: FragmentFacts): ReconstructionPlan => ({ kind: 'fragment', fragment: f.fragment, implied: f.implied });
  const union = (parts: ReconstructionPlan[]): ReconstructionPlan => (parts.length === 1 ? parts[0]! : { kind: 'union', parts });
  const join = (parts: ReconstructionPlan[]): ReconstructionPlan =>
    parts.length === 1 ? parts[0]! : { kind: 'join', key, parts };
  const liveClasses = classes.map((c) => c.members.filter((m) => !m.empty)).filter((m) => m.length > 0);
  // A slice is self-contained when it carries all the columns, or when no other slice contains it
  // (then its missing columns are a completeness failure, not a vertical fragment spanning slices).
  const nested = (i: number) =>
    liveClasses.some(
      (other, j) => j !== i && universe.implies(liveClasses[i]![0]!.fragment.membership, other[0]!.fragment.membership),
    );
  const selfContained = liveClasses.every(
    (members, i) => columns.every((col) => members.some((m) => m.provides.has(col))) || !nested(i),
  );
  if (selfContained) return union(liveClasses.map((members) => join(members.map(leaf))));
  // Vertical first: fragments that store a non-key column in common are horizontal pieces of one
  // vertical part (united), found by union-find; implied constants do not count (they differ from
  // piece to piece). A fragment storing only the key adds no column, so it joins nothing.
  const parent = new Map<FragmentFacts, FragmentFacts>(live.map((f) => [f, f]));
  const find = (f: FragmentFacts): FragmentFacts => (parent.get(f) === f ? f : find(parent.get(f)!));
  const nonKey = (f: FragmentFacts) => [...f.stored].filter((c) => !key.includes(c));
  for (const [i, a] of live.entries()) {
    for (const b of live.slice(i + 1)) {
      if (nonKey(a).some((c) => b.stored.has(c))) parent.set(find(a), find(b));
    }
  }
  const groups = new Map<FragmentFacts, FragmentFacts[]>();
  for (const f of live) {
    if (nonKey(f).length === 0) continue;
    const root = find(f);
    groups.set(root, [...(groups.get(root) ?? []), f]);
  }
  if (groups.size === 0) groups.set(live[0]!, live);
  // A union needs one schema: a constant implied by only some pieces is left out (the column then
  // comes from another vertical part, or completeness has already reported it missing).
  const unionOf = (g: FragmentFacts[]) =>
    union(
      g.map((f) => ({
        kind: 'fragment' as const,
        fragment: f.fragment,
        implied: new Map([...f.implied].filter(([c]) => g.every((o) => o.provides.has(c)))),
      })),
    );
  return join([...groups.values()].map(unionOf));
}

/** The plan in relational algebra, as the DDB-Helper paper writes it: `∪ᵢ(EMPLOYEEᵢ × Tᵢ)`. */
export function renderAlgebra(plan: ReconstructionPlan, nested = false): string {
  const wrap = (s: string) => (nested ? `(${s})` : s);
  switch (plan.kind) {
    case 'empty':
      return '∅';
    case 'fragment': {
      if (plan.implied.size === 0) return plan.fragment.name;
      const consts = [...plan.implied].map(([column, k]) => {
        const type = plan.fragment.relation.columns.find((c) => c.name === column)!.type;
        return `${column} = ${k === null ? 'NULL' : domainOf(type).toSql(k)}`;
      });
      return `(${plan.fragment.name} × {${consts.join(', ')}})`;
    }
    case 'union':
      return wrap(plan.parts.map((p) => renderAlgebra(p, true)).join(' ∪ '));
    case 'join':
      return wrap(plan.parts.map((p) => renderAlgebra(p, true)).join(' ⋈ '));
  }
}
