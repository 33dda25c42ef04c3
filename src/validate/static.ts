/**
 * The three correctness rules of fragmentation, proven on the predicates (no data needed):
 *
 * - Reconstruction: every fragment keeps the primary key, and the reconstruction expression (unions
 *   of horizontal fragments with their implied constants, key joins of vertical ones) yields every
 *   column of the relation.
 * - Completeness: every cell (row × column) of every row the schema allows is stored in some
 *   fragment, or fixed by the predicate of a fragment that holds the row.
 * - Disjointness: no non-key cell is stored by two different fragments (replicas of one fragment
 *   are one fragment).
 *
 * Each failure comes with a witness row found by the solver, and is attributed to the site(s) whose
 * fragments hold that row, as in the DDB-Helper paper's trace (Table VII).
 */
import type { ResolvedDesign, ResolvedFragment, ResolvedRelation } from '../design/resolve.js';
import { type Goal, type JsonValue, type Predicate, Universe, domainOf } from '../predicate/index.js';
import { type FragmentFacts, analyzeRelation, renderAlgebra } from './reconstruction.js';
import { type Check, type FragmentSummary, type RelationReport, type ValidationReport, summarize } from './report.js';

export function validateDesign(design: ResolvedDesign): ValidationReport {
  const relations = design.relations.map((r) => validateRelation(r));
  return summarize(design.design.name, design.design.file, relations);
}

const list = (xs: Iterable<string>) => [...xs].join(', ');
const sitesOf = (fs: ResolvedFragment[]) => [...new Set(fs.flatMap((f) => f.sites.map((s) => s.name)))];

export function validateRelation(r: ResolvedRelation): RelationReport {
  const { relation } = r;
  const universe = new Universe(r.constraints);
  const columns = relation.columns.map((c) => c.name);
  const key = relation.primaryKey;
  const checks: Check[] = [];
  const notes = [...r.ignoredChecks];

  if (r.fragments.length === 0) {
    return {
      relation: relation.name,
      reconstruction: `${relation.name} = ∅`,
      fragments: [],
      checks: [
        {
          rule: 'completeness',
          ok: false,
          severity: 'error',
          basis: 'static',
          message: `${relation.name} has no fragment: none of its ${columns.length} columns is distributed to any site`,
          columns,
        },
      ],
      notes,
    };
  }

  const { facts, classes, plan } = analyzeRelation(r, universe);
  const reconstruction = `${relation.name} = ${renderAlgebra(plan)}`;

  // ── Reconstruction ────────────────────────────────────────────────────────────────
  if (key.length === 0) {
    const vertical = facts.filter((f) => !f.fragment.allColumns).map((f) => f.fragment.name);
    checks.push({
      rule: 'reconstruction',
      ok: vertical.length === 0,
      severity: 'error',
      basis: 'static',
      message:
        vertical.length === 0
          ? `${relation.name} has no primary key; its fragments keep every column, so a union rebuilds it`
          : `${relation.name} has no primary key, so its vertical fragments (${list(vertical)}) cannot be joined back`,
      ...(vertical.length ? { fragments: vertical } : {}),
    });
  }
  for (const f of facts) {
    if (key.length === 0) break;
    const missing = key.filter((k) => !f.stored.has(k));
    const sites = f.fragment.sites.map((s) => s.name);
    checks.push({
      rule: 'reconstruction',
      ok: missing.length === 0,
      severity: 'error',
      basis: 'static',
      ...(sites.length === 1 ? { site: sites[0] } : {}),
      fragments: [f.fragment.name],
      message:
        missing.length === 0
          ? `fragment ${f.fragment.name} on ${list(sites)} has the primary key (${list(key)})`
          : `fragment ${f.fragment.name} on ${list(sites)} lacks primary key column${missing.length > 1 ? 's' : ''} ${list(missing)}: its rows cannot be matched with the other fragments`,
      ...(missing.length ? { columns: missing } : {}),
    });
  }
  const yielded = new Set(facts.flatMap((f) => [...f.provides]));
  const lost = columns.filter((c) => !yielded.has(c));
  checks.push({
    rule: 'reconstruction',
    ok: lost.length === 0,
    severity: 'error',
    basis: 'static',
    message:
      lost.length === 0
        ? `the reconstruction yields all ${columns.length} columns of ${relation.name}`
        : `the reconstruction yields ${columns.length - lost.length} of the ${columns.length} columns of ${relation.name}: ${list(lost)} ${lost.length > 1 ? 'are' : 'is'} in no fragment`,
    ...(lost.length ? { columns: lost } : {}),
  });

  // ── Completeness ──────────────────────────────────────────────────────────────────
  for (const f of facts) {
    if (f.empty) {
      checks.push({
        rule: 'completeness',
        ok: false,
        severity: 'warning',
        basis: 'static',
        fragments: [f.fragment.name],
        message: `fragment ${f.fragment.name} can never hold a row: its predicate contradicts the schema (always empty)`,
      });
    }
  }
  const orphan = universe.findRow(facts.map((f) => ({ predicate: f.fragment.membership, is: 'notTrue' as const })));
  if (orphan) {
    const hint = nullForeignKeyHint(r, orphan.toJson());
    // A row without a parent has no parent values: drop the lifted `parent.column` entries then.
    const json = Object.fromEntries(Object.entries(orphan.toJson()).filter(([k]) => !hint || !k.includes('.')));
    checks.push({
      rule: 'completeness',
      ok: false,
      severity: 'error',
      basis: 'static',
      fragments: facts.map((f) => f.fragment.name),
      message: `rows such as ${describeRow(json)} belong to no fragment of ${relation.name}${hint}`,
      counterexample: json,
    });
  } else {
    checks.push({
      rule: 'completeness',
      ok: true,
      severity: 'error',
      basis: 'static',
      message: `every row of ${relation.name} belongs to at least one fragment`,
    });
  }

  // Per horizontal slice (fragments selecting the same rows), from the most specific slice to the
  // least, so that a cell missing in one slice is reported once, at the site that holds the slice.
  const covered: Predicate[] = [];
  for (const cls of classes) {
    const slice = cls.predicate;
    const members = cls.members.map((f) => f.fragment);
    const exclude: Goal[] = covered.filter((p) => universe.implies(p, slice)).map((p) => ({ predicate: p, is: 'notTrue' }));
    // Columns missing in this slice, grouped so that each group's witness row really lacks every
    // column of the group (a row lacking `a` may well have `b` stored elsewhere).
    const base: Goal[] = [{ predicate: slice, is: 'true' }, ...exclude];
    const groups: Array<{ columns: string[]; goals: Goal[]; witness: Record<string, JsonValue> }> = [];
    for (const column of columns) {
      const lacks: Goal[] = facts
        .filter((f) => f.provides.has(column))
        .map((f) => ({ predicate: f.fragment.membership, is: 'notTrue' }));
      const joined = groups.find((g) => {
        const row = universe.findRow([...g.goals, ...lacks]);
        if (row) {
          g.columns.push(column);
          g.goals.push(...lacks);
          g.witness = row.toJson();
        }
        return row !== null;
      });
      if (joined) continue;
      const row = universe.findRow([...base, ...lacks]);
      if (row) groups.push({ columns: [column], goals: [...base, ...lacks], witness: row.toJson() });
    }
    covered.push(slice);
    if (cls.members.every((f) => f.empty)) continue;
    const sites = sitesOf(members);
    const where = `${sites.length === 1 ? `at site ${sites[0]}` : `on sites ${list(sites)}`} (${list(members.map((f) => f.name))})`;
    const attribution = { ...(sites.length === 1 ? { site: sites[0] } : {}), fragments: members.map((f) => f.name) };
    if (groups.length === 0) {
      checks.push({
        rule: 'completeness',
        ok: true,
        severity: 'error',
        basis: 'static',
        ...attribution,
        message: `complete ${where}: every column of these rows is stored`,
      });
    }
    for (const g of groups) {
      const many = g.columns.length > 1;
      checks.push({
        rule: 'completeness',
        ok: false,
        severity: 'error',
        basis: 'static',
        ...attribution,
        message: `incomplete ${where}: for rows such as ${describeRow(g.witness)}, column${many ? 's' : ''} ${list(g.columns)} ${many ? 'are' : 'is'} stored in no fragment (${columns.length} columns in ${relation.name}, ${columns.length - g.columns.length} distributed for these rows)`,
        columns: g.columns,
        counterexample: g.witness,
      });
    }
  }

  // ── Disjointness ──────────────────────────────────────────────────────────────────
  const cellColumns = (cols: Set<string>) => {
    // When every column is a key column, the rows themselves are the cells.
    const nonKey = [...cols].filter((c) => !key.includes(c));
    return columns.length === key.length ? [...cols] : nonKey;
  };
  let pairs = 0;
  let overlaps = 0;
  for (let i = 0; i < facts.length; i++) {
    for (let j = i + 1; j < facts.length; j++) {
      const a = facts[i]!;
      const b = facts[j]!;
      const shared = cellColumns(a.stored).filter((c) => b.stored.has(c));
      if (shared.length === 0 || a.empty || b.empty) continue;
      pairs++;
      const row = universe.findRow([
        { predicate: a.fragment.membership, is: 'true' },
        { predicate: b.fragment.membership, is: 'true' },
      ]);
      if (!row) continue;
      overlaps++;
      const allowed = a.fragment.overlapAllowed || b.fragment.overlapAllowed;
      const sites = sitesOf([a.fragment, b.fragment]);
      const shareSite = a.fragment.sites.some((s) => b.fragment.sites.includes(s));
      const json = row.toJson();
      checks.push({
        rule: 'disjointness',
        ok: false,
        severity: allowed ? 'warning' : 'error',
        basis: 'static',
        ...(sites.length === 1 ? { site: sites[0] } : {}),
        fragments: [a.fragment.name, b.fragment.name],
        columns: shared,
        counterexample: json,
        message: `${a.fragment.name} and ${b.fragment.name}${sites.length === 1 ? ` at site ${sites[0]}` : shareSite ? '' : ` (sites ${list(sites)})`} both store column${shared.length > 1 ? 's' : ''} ${list(shared)} for rows such as ${describeRow(json)}${allowed ? ' — declared with overlap: allowed' : ''}`,
      });
    }
  }
  if (overlaps === 0) {
    checks.push({
      rule: 'disjointness',
      ok: true,
      severity: 'error',
      basis: 'static',
      message:
        pairs === 0
          ? `no two fragments of ${relation.name} store the same non-key column`
          : `no non-key cell of ${relation.name} is stored twice (${pairs} pair${pairs > 1 ? 's' : ''} of fragments sharing columns proven disjoint)`,
    });
  }

  return {
    relation: relation.name,
    reconstruction,
    fragments: facts.map((f) => fragmentSummary(f)),
    checks,
    notes,
  };
}

function fragmentSummary(f: FragmentFacts): FragmentSummary {
  const fr = f.fragment;
  const rel = fr.relation.name;
  let body = fr.parent ? `${rel} ⋉ ${fr.parent.fragment.name}` : rel;
  if (fr.spec.where) body = `σ ${fr.spec.where.trim()} (${body})`;
  if (!fr.allColumns) body = `π ${list(fr.columns)} (${body})`;
  const implied: Record<string, JsonValue> = {};
  for (const [c, k] of f.implied) {
    const column = fr.relation.columns.find((x) => x.name === c)!;
    implied[c] = k === null ? null : domainOf(column.type).toJson(k);
  }
  return {
    name: fr.name,
    definition: body,
    sites: fr.sites.map((s) => s.name),
    ...(fr.sites.length > 1 ? { replication: fr.replication } : {}),
    columns: fr.columns,
    implied,
  };
}

export function describeRow(row: Record<string, JsonValue>): string {
  const parts = Object.entries(row).map(
    ([k, v]) => `${k} = ${v === null ? 'NULL' : typeof v === 'string' ? `'${v}'` : String(v)}`,
  );
  return parts.length === 0 ? 'any row' : `{${parts.join(', ')}}`;
}

/** When a row is lost because its foreign key is NULL, say so: derived fragments cannot hold it. */
function nullForeignKeyHint(r: ResolvedRelation, row: Record<string, JsonValue>): string {
  const lostBy = r.fragments
    .filter((f) => f.parent)
    .map((f) => f.parent!.foreignKey)
    .find((fk) => fk.columns.some((c) => c in row && row[c] === null));
  return lostBy
    ? `: the foreign key (${list(lostBy.columns)}) is nullable, and a row whose key is NULL has no parent fragment to follow`
    : '';
}
