/**
 * What each site holds: one table per fragment allocated to it (replicas included), with the
 * source's column names and types mapped into the site's dialect, the primary key, indexes on
 * foreign-key columns, the relation's CHECKs that the fragment can enforce, and the fragment's own
 * predicate as a CHECK when its columns are all stored (so a row cannot land on the wrong site).
 */
import type { CheckConstraint, Column } from '../catalog/types.js';
import { DesignError } from '../design/errors.js';
import type { ResolvedDesign, ResolvedFragment } from '../design/resolve.js';
import { relationScope } from '../design/resolve.js';
import type { SiteSpec } from '../design/schema.js';
import type { Dialect, IndexSpec } from '../engines/dialect.js';
import { TypeMappingError } from '../engines/dialect.js';
import { dialectFor } from '../engines/dialect-registry.js';
import { type Predicate, parsePredicate, variablesOf } from '../predicate/index.js';

export interface FragmentTable {
  fragment: ResolvedFragment;
  /** The table's name on the site: the fragment's name in lower case (unquoted SQL finds it). */
  table: string;
  columns: Column[];
  primaryKey: string[];
  indexes: IndexSpec[];
  /** CHECK constraints already rendered in the site's dialect. */
  checks: CheckConstraint[];
  /**
   * Text columns (lower-cased name) whose carried CHECKs bound them to a finite list of strings →
   * the longest one's length in characters (MariaDB stores them as VARCHAR(n), not LONGTEXT).
   */
  lengths: Map<string, number>;
}

export interface SiteLayout {
  site: SiteSpec;
  dialect: Dialect;
  decision: boolean;
  tables: FragmentTable[];
}

export function tableName(fragment: ResolvedFragment): string {
  return fragment.name.toLowerCase();
}

/** Lays out every site; a column type a site cannot hold is a DesignError naming site, fragment and column. */
export function layoutSites(resolved: ResolvedDesign): SiteLayout[] {
  const { design } = resolved;
  const decision = design.sites.find((s) => s.decision) ?? design.sites[0]!;
  return design.sites.map((site) => {
    const dialect = dialectFor(site.engine);
    const tables = resolved.fragments.filter((f) => f.sites.includes(site)).map((f) => fragmentTable(f, dialect));
    for (const t of tables) {
      try {
        dialect.createTable(t.table, t.columns, t.primaryKey, {
          checks: t.checks,
          indexes: t.indexes,
          relation: t.fragment.relation.name,
          lengths: t.lengths,
        });
      } catch (e) {
        if (e instanceof TypeMappingError) {
          throw new DesignError(`${e.message} (site ${site.name} runs ${site.engine})`, {
            file: design.file,
            fragment: t.fragment.name,
            ...(design.fragmentLines.get(t.fragment.name) ? { line: design.fragmentLines.get(t.fragment.name)! } : {}),
          });
        }
        throw e;
      }
    }
    return { site, dialect, decision: site === decision, tables };
  });
}

function fragmentTable(f: ResolvedFragment, dialect: Dialect): FragmentTable {
  const table = tableName(f);
  const stored = new Set(f.columns);
  const columns = f.relation.columns.filter((c) => stored.has(c.name));
  const indexes: IndexSpec[] = f.relation.foreignKeys
    .filter((fk) => fk.columns.every((c) => stored.has(c)))
    .filter((fk) => fk.columns.join(',') !== f.relation.primaryKey.slice(0, fk.columns.length).join(','))
    .map((fk) => ({ name: `${table}_${fk.columns.join('_')}_idx`, columns: fk.columns }));
  const scope = relationScope(f.relation);
  const enforceable = (p: Predicate) => [...variablesOf(p).values()].every((v) => stored.has(v.name));
  const checks: CheckConstraint[] = [];
  const lengths = new Map<string, number>();
  for (const check of f.relation.checks) {
    let p: Predicate;
    try {
      p = parsePredicate(check.expression, scope);
    } catch {
      continue; // a CHECK ddbkit cannot read is not carried (validation lists it as a note)
    }
    if (!enforceable(p)) continue;
    checks.push({ name: `${table}_${check.name}`, expression: dialect.renderPredicate(p) });
    // Carried, hence enforced at the site too: a bound it puts on a text column holds there.
    textBounds(p, lengths);
  }
  if (f.where && enforceable(f.where)) checks.push({ name: `${table}_placement`, expression: dialect.renderPredicate(f.where) });
  return {
    fragment: f,
    table,
    columns,
    primaryKey: f.relation.primaryKey.filter((k) => stored.has(k)),
    indexes,
    checks,
    lengths,
  };
}

/**
 * The text columns a CHECK limits to a finite list of strings, each with the longest one's length
 * in characters (code points, as MariaDB's utf8mb4 counts them): `c IN ('a', 'bc')` or `c = 'a'`,
 * alone or as a conjunct of a top-level AND. Anything else (NOT IN, OR, a non-string list) bounds nothing.
 */
function textBounds(p: Predicate, into = new Map<string, number>()): Map<string, number> {
  const bound = (column: string, values: readonly unknown[]): void => {
    if (values.length === 0 || !values.every((v): v is string => typeof v === 'string')) return;
    const length = Math.max(...values.map((v) => [...v].length));
    into.set(column, Math.min(length, into.get(column) ?? Infinity));
  };
  if (p.kind === 'and') for (const a of p.args) textBounds(a, into);
  else if (p.kind === 'in' && !p.negated && p.variable.type.family === 'text') bound(p.variable.name.toLowerCase(), p.values);
  else if (p.kind === 'compare' && p.op === '=' && p.variable.type.family === 'text')
    bound(p.variable.name.toLowerCase(), [p.value]);
  return into;
}
