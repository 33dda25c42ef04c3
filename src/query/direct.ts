/**
 * The direct path: a plain single-relation SELECT — columns, a WHERE the predicate logic
 * understands, no grouping, ordering or joins — over horizontal fragments that each hold every
 * column it reads. Each surviving fragment's site answers its part in its own dialect and the rows
 * are passed on unchanged: no coordinator, no rebuild. Key lookups and the `SELECT … FOR UPDATE`
 * of check-then-write transactions take this path; anything else returns undefined and goes
 * through the full pipeline.
 */
import type { Expr, SelectFromStatement, Statement } from 'pgsql-ast-parser';
import type { Column, ColumnType, Relation } from '../catalog/types.js';
import { findColumn, sameName } from '../catalog/types.js';
import { relationScope } from '../design/resolve.js';
import { dialectFor } from '../engines/dialect-registry.js';
import { type Key, type Predicate, PredicateError, TRUE, predicateFromExpr, renderSql, variablesOf } from '../predicate/index.js';
import type { FragmentAccess, PrunedFragment, ReducedPlan, RelationAccess } from './localize.js';

export interface DirectPart {
  site: string;
  fragment: string;
  sql: string;
  /** The source types of the columns read, so every engine returns canonical values. */
  types: ColumnType[];
}

export interface DirectPlan {
  columns: string[];
  /** For each output column, its position in the parts' rows (a column may be selected twice). */
  project: number[];
  families: string[];
  parts: DirectPart[];
  pruned: PrunedFragment[];
  /** The plan in the shape EXPLAIN prints. */
  plan: {
    sql: string;
    relations: Array<{ relation: string; columns: string[]; predicate: string; fragments: string[] }>;
    site_queries: Array<{ site: string; fragments: string[]; sql: string }>;
    pruned: PrunedFragment[];
    coordinator: { engine: 'duckdb'; steps: string[] };
  };
}

/**
 * `accesses` are the localized, reduced plans of the query's relations (pruning, vertical
 * reduction and the replica choice are the pipeline's); the direct path only adds that the
 * relation's remaining fragments are unioned and that the whole WHERE runs at each site.
 */
export function planDirect(sql: string, statement: Statement, accesses: RelationAccess[]): DirectPlan | undefined {
  if (statement.type !== 'select' || accesses.length !== 1) return undefined;
  const select = statement;
  if (!isPlain(select)) return undefined;
  const from = select.from![0]!;
  if (from.type !== 'table' || from.join || (from.name.schema && from.name.schema !== 'public')) return undefined;
  const relation = accesses[0]!.relation.relation;
  if (!sameName(relation.name, from.name.name)) return undefined;
  const qualifiers = [from.name.alias ?? relation.name];

  const output = selectedColumns(select, relation, qualifiers);
  if (!output) return undefined;
  const where = select.where ? whereOf(select.where, sql, relation, qualifiers) : TRUE;
  if (!where) return undefined;

  const access = accesses[0]!;
  const leaves = unionLeaves(access.plan);
  if (!leaves) return undefined;
  const read = [...new Set(output.map((c) => c.name))];
  const whereColumns = [...variablesOf(where).values()].map((v) => v.name);
  const parts: DirectPart[] = [];
  for (const { access: leaf, implied } of leaves) {
    if (leaf.fragment.overlapAllowed) return undefined;
    const stored = new Set(leaf.fragment.columns);
    // A column the fragment does not store may be implied by its predicate (BOOK_ENIT: site = 'ENIT').
    if (!read.every((c) => stored.has(c) || implied.has(c)) || !whereColumns.every((c) => stored.has(c))) return undefined;
    const dialect = dialectFor(leaf.site.engine);
    const columns = read
      .map((c) => {
        if (stored.has(c)) return dialect.quoteIdentifier(c);
        const key = implied.get(c);
        const type = findColumn(relation, c)!.type;
        return `${key === null || key === undefined ? 'NULL' : dialect.literal(type, key)} AS ${dialect.quoteIdentifier(c)}`;
      })
      .join(', ');
    const filter = where.kind === 'const' && where.value === true ? '' : ` WHERE ${dialect.renderPredicate(where)}`;
    parts.push({
      site: leaf.site.name,
      fragment: leaf.fragment.name,
      sql: `SELECT ${columns} FROM ${dialect.quoteIdentifier(leaf.table)}${filter}`,
      types: read.map((c) => findColumn(relation, c)!.type),
    });
  }
  return {
    columns: output.map((c) => c.as),
    project: output.map((c) => read.indexOf(c.name)),
    families: output.map((c) => c.column.type.family),
    parts,
    pruned: access.pruned,
    plan: {
      sql,
      relations: [
        { relation: relation.name, columns: read, predicate: describe(where), fragments: parts.map((p) => p.fragment) },
      ],
      site_queries: parts.map((p) => ({ site: p.site, fragments: [p.fragment], sql: p.sql })),
      pruned: access.pruned,
      coordinator: {
        engine: 'duckdb',
        steps: [
          parts.length === 0
            ? 'nothing to run: every fragment is pruned, the result is empty'
            : 'none: the sites’ rows are the result (one relation, no grouping, ordering or joins)',
        ],
      },
    },
  };
}

/** A cheap first look: could this statement take the direct path at all? */
export function isDirectCandidate(statement: Statement): boolean {
  return statement.type === 'select' && isPlain(statement) && statement.from![0]!.type === 'table' && !statement.from![0]!.join;
}

function isPlain(s: SelectFromStatement): boolean {
  return (
    Array.isArray(s.from) &&
    s.from.length === 1 &&
    !s.groupBy &&
    !s.having &&
    !s.distinct &&
    !s.orderBy &&
    !s.limit &&
    Array.isArray(s.columns) &&
    s.columns.length > 0
  );
}

interface Output {
  name: string;
  as: string;
  column: Column;
}

function selectedColumns(s: SelectFromStatement, relation: Relation, qualifiers: string[]): Output[] | undefined {
  const out: Output[] = [];
  for (const item of s.columns!) {
    const e = item.expr;
    if (e.type !== 'ref') return undefined;
    if (e.table && !qualifiers.some((q) => sameName(q, e.table!.name))) return undefined;
    if (e.name === '*') {
      if (item.alias) return undefined;
      for (const c of relation.columns) out.push({ name: c.name, as: c.name, column: c });
      continue;
    }
    const column = findColumn(relation, e.name);
    if (!column) return undefined;
    out.push({ name: column.name, as: item.alias?.name ?? e.name, column });
  }
  return out;
}

function whereOf(where: Expr, sql: string, relation: Relation, qualifiers: string[]): Predicate | undefined {
  const scope = relationScope(relation);
  try {
    return predicateFromExpr(where, sql, {
      ...scope,
      resolve: (name, qualifier) =>
        qualifier && !qualifiers.some((q) => sameName(q, qualifier)) ? undefined : scope.resolve(name, undefined),
    });
  } catch (e) {
    if (e instanceof PredicateError) return undefined;
    throw e;
  }
}

/** The fragment reads of a reduced plan made only of unions (horizontal and derived fragments). */
function unionLeaves(plan: ReducedPlan): Array<{ access: FragmentAccess; implied: ReadonlyMap<string, Key | null> }> | undefined {
  switch (plan.kind) {
    case 'fragment':
      return [{ access: plan.access, implied: plan.implied }];
    case 'union': {
      const parts = plan.parts.map(unionLeaves);
      return parts.some((p) => p === undefined) ? undefined : parts.flatMap((p) => p!);
    }
    case 'empty':
      return [];
    case 'join':
      return undefined;
  }
}

function describe(p: Predicate): string {
  return p.kind === 'const' ? String(p.value).toUpperCase() : renderSql(p, { column: (v) => v.name });
}
