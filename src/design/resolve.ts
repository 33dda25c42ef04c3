/**
 * Binding a design to the source's catalog: relations, columns and sites are looked up (without
 * regard to case), predicates are parsed and typed, `follows` is tied to a foreign key, and each
 * fragment gets its *membership predicate*: the condition, over the relation's columns and (for
 * derived fragments) its ancestors' columns reached through foreign keys, that puts a row in it.
 */
import {
  type Catalog,
  type Column,
  type ForeignKey,
  type Relation,
  findColumn,
  findRelation,
  sameName,
} from '../catalog/types.js';
import {
  type Predicate,
  PredicateError,
  type Scope,
  TRUE,
  type Variable,
  and,
  mapVariables,
  parsePredicate,
} from '../predicate/index.js';
import { DesignError } from './errors.js';
import type { Design } from './load.js';
import type { FragmentSpec, SiteSpec } from './schema.js';

export interface ResolvedFragment {
  name: string;
  spec: FragmentSpec;
  relation: Relation;
  /** Stored columns, as the source names them, in the relation's column order. */
  columns: string[];
  /** Whether the fragment keeps every column of its relation. */
  allColumns: boolean;
  /** The fragment's own `where`, over the relation's columns. */
  where?: Predicate;
  /** For derived fragments: the parent fragment and the foreign key followed to it. */
  parent?: { fragment: ResolvedFragment; foreignKey: ForeignKey };
  sites: SiteSpec[];
  replication: 'sync' | 'async';
  overlapAllowed: boolean;
  /** TRUE exactly on the rows of the relation that belong to this fragment. */
  membership: Predicate;
}

export interface ResolvedRelation {
  relation: Relation;
  fragments: ResolvedFragment[];
  /** The relation's columns as predicate variables. */
  variables: Map<string, Variable>;
  /** CHECK constraints (over the relation and the ancestors its derived fragments reach), parsed. */
  constraints: Predicate[];
  /** CHECK constraints ddbkit could not reason about, with the reason. */
  ignoredChecks: string[];
}

export interface ResolvedDesign {
  design: Design;
  catalog: Catalog;
  /** Every relation of the source, in catalog order, with its fragments (possibly none). */
  relations: ResolvedRelation[];
  fragments: ResolvedFragment[];
}

export function columnVariable(relation: Relation, column: Column, prefix = ''): Variable {
  return {
    id: `${prefix}${column.name.toLowerCase()}`,
    name: prefix ? `${prefix}${column.name}` : column.name,
    type: column.type,
    nullable: column.nullable,
  };
}

export function relationScope(relation: Relation): Scope & { variables: Map<string, Variable> } {
  const variables = new Map(relation.columns.map((c) => [c.name, columnVariable(relation, c)]));
  return {
    variables,
    description: `relation ${relation.name}`,
    resolve(name, qualifier) {
      if (qualifier && !sameName(qualifier, relation.name)) return undefined;
      const column = findColumn(relation, name);
      return column ? variables.get(column.name) : undefined;
    },
  };
}

export function resolveDesign(design: Design, catalog: Catalog): ResolvedDesign {
  const at = (spec: FragmentSpec) => ({
    file: design.file,
    fragment: spec.name,
    ...(design.fragmentLines.get(spec.name) ? { line: design.fragmentLines.get(spec.name)! } : {}),
  });
  const siteByName = new Map(design.sites.map((s) => [s.name.toLowerCase(), s]));
  const specByName = new Map(design.fragments.map((f) => [f.name.toLowerCase(), f]));
  const resolved = new Map<string, ResolvedFragment>();
  const scopes = new Map<string, ReturnType<typeof relationScope>>();
  const scopeOf = (r: Relation) => {
    let s = scopes.get(r.name);
    if (!s) scopes.set(r.name, (s = relationScope(r)));
    return s;
  };

  const resolveFragment = (spec: FragmentSpec, chain: string[]): ResolvedFragment => {
    const done = resolved.get(spec.name.toLowerCase());
    if (done) return done;
    if (chain.includes(spec.name)) {
      throw new DesignError(`follows forms a cycle: ${[...chain, spec.name].join(' → ')}`, at(spec));
    }
    const relation = findRelation(catalog, spec.of);
    if (!relation) {
      throw new DesignError(
        `unknown relation ${spec.of}; the source has ${catalog.relations.map((r) => r.name).join(', ') || 'no tables'}`,
        at(spec),
      );
    }
    const sites = spec.sites.map((name) => {
      const site = siteByName.get(name.toLowerCase());
      if (!site)
        throw new DesignError(
          `unknown site ${name}; the design's sites are ${design.sites.map((s) => s.name).join(', ')}`,
          at(spec),
        );
      return site;
    });
    if (new Set(sites).size !== sites.length) throw new DesignError('a site is listed twice in sites', at(spec));
    if (spec.replication && sites.length < 2) {
      throw new DesignError(`replication: ${spec.replication} needs at least two sites`, at(spec));
    }

    const columnNames = spec.columns ?? relation.columns.map((c) => c.name);
    const stored = new Set<string>();
    for (const name of columnNames) {
      const column = findColumn(relation, name);
      if (!column) throw new DesignError(`unknown column ${name} in relation ${relation.name}`, at(spec));
      if (stored.has(column.name)) throw new DesignError(`column ${name} is listed twice`, at(spec));
      stored.add(column.name);
    }
    const columns = relation.columns.map((c) => c.name).filter((c) => stored.has(c));

    const scope = scopeOf(relation);
    let where: Predicate | undefined;
    if (spec.where) {
      try {
        where = parsePredicate(spec.where, scope);
      } catch (e) {
        if (e instanceof PredicateError) throw new DesignError(e.message, at(spec));
        throw e;
      }
    }

    let parent: ResolvedFragment['parent'];
    if (spec.follows) {
      const parentSpec = specByName.get(spec.follows.toLowerCase());
      if (!parentSpec) throw new DesignError(`follows unknown fragment ${spec.follows}`, at(spec));
      const parentFragment = resolveFragment(parentSpec, [...chain, spec.name]);
      const foreignKey = chooseForeignKey(relation, parentFragment.relation, spec, (m) => new DesignError(m, at(spec)));
      parent = { fragment: parentFragment, foreignKey };
    }

    const membership = parent
      ? and(foreignKeyPresent(relation, parent.foreignKey), lift(relation, parent), where ?? TRUE)
      : (where ?? TRUE);
    const fragment: ResolvedFragment = {
      name: spec.name,
      spec,
      relation,
      columns,
      allColumns: columns.length === relation.columns.length,
      ...(where ? { where } : {}),
      ...(parent ? { parent } : {}),
      sites,
      replication: spec.replication ?? 'sync',
      overlapAllowed: spec.overlap === 'allowed',
      membership,
    };
    resolved.set(spec.name.toLowerCase(), fragment);
    return fragment;
  };

  const fragments = design.fragments.map((f) => resolveFragment(f, []));
  const relations = catalog.relations.map((relation) => {
    const own = fragments.filter((f) => f.relation === relation);
    const { constraints, ignoredChecks } = constraintsFor(relation, own);
    return { relation, fragments: own, variables: scopeOf(relation).variables, constraints, ignoredChecks };
  });
  return { design, catalog, relations, fragments };
}

function chooseForeignKey(child: Relation, parent: Relation, spec: FragmentSpec, error: (m: string) => Error): ForeignKey {
  let candidates = child.foreignKeys.filter((fk) => sameName(fk.references.relation, parent.name));
  if (spec.via) {
    const via = spec.via
      .map((v) => v.toLowerCase())
      .sort()
      .join(',');
    candidates = candidates.filter(
      (fk) =>
        fk.columns
          .map((c) => c.toLowerCase())
          .sort()
          .join(',') === via,
    );
    if (candidates.length === 0) throw error(`no foreign key (${spec.via.join(', ')}) from ${child.name} to ${parent.name}`);
  }
  if (candidates.length === 0) {
    throw error(`follows ${spec.follows}, a fragment of ${parent.name}, but ${child.name} has no foreign key to ${parent.name}`);
  }
  if (candidates.length > 1) {
    const options = candidates.map((fk) => `[${fk.columns.join(', ')}]`).join(' or ');
    throw error(`${child.name} has several foreign keys to ${parent.name}: say which with via: ${options}`);
  }
  return candidates[0]!;
}

/** `fk IS NOT NULL` for every column of the key: a child whose key is NULL has no parent to follow. */
function foreignKeyPresent(child: Relation, fk: ForeignKey): Predicate {
  const scope = relationScope(child);
  return and(...fk.columns.map((c): Predicate => ({ kind: 'isNull', variable: scope.resolve(c)!, negated: true })));
}

/**
 * A predicate over the parent fragment's variables, rewritten over the child's: the parent's
 * referenced key columns become the child's foreign-key columns (they hold the same values), and
 * the parent's other columns become variables named through the relation, e.g. `book.site`.
 */
function liftThrough(child: Relation, link: NonNullable<ResolvedFragment['parent']>, predicate: Predicate): Predicate {
  return liftPredicate(child, link.fragment.relation, link.foreignKey, predicate);
}

/**
 * A predicate over a parent relation's row, rewritten over the child row that references it
 * through `foreignKey`: the same variables derived fragments' memberships use, so the query engine
 * can carry a condition on a joined parent over to the child (and prune its derived fragments).
 */
export function liftPredicate(child: Relation, parent: Relation, foreignKey: ForeignKey, predicate: Predicate): Predicate {
  const childScope = relationScope(child);
  const idPrefix = `${parent.name}(${foreignKey.columns.join(',')}).`.toLowerCase();
  const referenced = new Map(foreignKey.references.columns.map((c, i) => [c.toLowerCase(), foreignKey.columns[i]!]));
  return mapVariables(predicate, (v) => {
    const own = referenced.get(v.id);
    if (own !== undefined) return childScope.resolve(own)!;
    return { ...v, id: idPrefix + v.id, name: `${parent.name}.${v.name}` };
  });
}

function lift(child: Relation, link: NonNullable<ResolvedFragment['parent']>): Predicate {
  return liftThrough(child, link, link.fragment.membership);
}

function parseChecks(relation: Relation, ignored: string[]): Predicate[] {
  const scope = relationScope(relation);
  return relation.checks.flatMap((check) => {
    try {
      return [parsePredicate(check.expression, scope)];
    } catch (e) {
      if (!(e instanceof PredicateError)) throw e;
      ignored.push(`CHECK ${check.name} on ${relation.name} (${check.expression}) is not used in reasoning: ${e.message}`);
      return [];
    }
  });
}

/**
 * The CHECKs that hold for a fragment's variables: its relation's, and for a derived fragment its
 * ancestors' lifted through the foreign keys. A conjunction of CHECKs is never FALSE exactly when
 * none of them is, so each ancestor's CHECKs can be lifted as one conjunction.
 */
function constraintsFor(
  relation: Relation,
  fragments: ResolvedFragment[],
): { constraints: Predicate[]; ignoredChecks: string[] } {
  const ignoredChecks: string[] = [];
  const constraints = parseChecks(relation, ignoredChecks);
  const ancestorChecks = (f: ResolvedFragment): Predicate => {
    if (!f.parent) return TRUE;
    const parentChecks = and(...parseChecks(f.parent.fragment.relation, []), ancestorChecks(f.parent.fragment));
    return liftThrough(f.relation, f.parent, parentChecks);
  };
  const seen = new Set<string>();
  for (const f of fragments) {
    const lifted = ancestorChecks(f);
    const key = JSON.stringify(lifted, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
    if (lifted.kind === 'const' || seen.has(key)) continue;
    seen.add(key);
    constraints.push(lifted);
  }
  return { constraints, ignoredChecks };
}
