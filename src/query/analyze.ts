/**
 * What a global query needs from each global relation: which columns, and which rows — the
 * conditions of its WHERE (and inner-join ON) clauses that constrain one relation alone, as
 * predicate trees. A relation referenced several times needs the union of what each reference
 * needs, so its predicate is the OR of theirs. Everything is conservative: fetching a superset is
 * always correct, since the coordinator runs the whole query again over what was fetched.
 */
import { type Expr, type Statement, parse } from 'pgsql-ast-parser';
import { type Catalog, type Relation, findRelation, sameName } from '../catalog/types.js';
import { liftPredicate, relationScope } from '../design/resolve.js';
import { type Predicate, TRUE, and, or, predicateFromExpr } from '../predicate/index.js';
import { QueryError } from './errors.js';
import { parserMessage } from '../predicate/parse.js';
import { type Node, conjuncts, walk } from './syntax.js';

export interface RelationNeeds {
  relation: Relation;
  /** Column names (as the catalog spells them) the query may read. */
  columns: Set<string>;
  /** Rows the query may read: the OR of every reference's pushable conditions. */
  predicate: Predicate;
  references: number;
}

export interface QueryAnalysis {
  statement: Statement;
  needs: Map<string, RelationNeeds>;
}

/** Column references of an expression, or undefined when it holds a subquery (never pushed). */
function refsOf(e: Expr): Array<{ table?: string; name: string }> | undefined {
  const refs: Array<{ table?: string; name: string }> = [];
  let subquery = false;
  walk(e as unknown as Node, (n) => {
    if (n.type === 'select' || n.type === 'union' || n.type === 'union all' || n.type === 'with') subquery = true;
    if (n.type === 'ref') {
      const table = (n.table as { name?: string } | undefined)?.name;
      refs.push({ ...(table ? { table } : {}), name: String(n.name) });
    }
  });
  return subquery ? undefined : refs;
}

const SUPPORTED_STATEMENTS = new Set(['select', 'union', 'union all', 'with', 'with recursive', 'values']);

/**
 * Rewrites, in place, the few spellings whose meaning differs in the coordinator: PostgreSQL's
 * `float` is double precision, DuckDB's is single.
 */
export function adaptForCoordinator(sql: string, parsed?: Statement): { sql: string; statement: Statement } {
  const statement = parsed ?? parseQuery(sql);
  const edits: Array<{ start: number; end: number }> = [];
  walk(statement as unknown as Node, (n) => {
    const to = n.type === 'cast' ? (n.to as { name?: string; _location?: { start: number; end: number } }) : undefined;
    if (to?.name?.toLowerCase() === 'float' && to._location) edits.push(to._location);
  });
  if (edits.length === 0) return { sql, statement };
  let out = sql;
  for (const e of edits.sort((a, b) => b.start - a.start)) out = `${out.slice(0, e.start)}double precision${out.slice(e.end)}`;
  return { sql: out, statement: parseQuery(out) };
}

export function parseQuery(sql: string): Statement {
  let statements: Statement[];
  try {
    statements = parse(sql, { locationTracking: true });
  } catch (e) {
    const construct = unparsableConstruct(sql);
    if (construct)
      throw new QueryError(`${construct} is not supported (the SQL parser ddbkit uses cannot read it)`, 'UNSUPPORTED');
    throw new QueryError(`cannot parse the query: ${parserMessage(e)}`, 'SYNTAX');
  }
  if (statements.length !== 1) throw new QueryError(`expected one statement, got ${statements.length}`, 'SYNTAX');
  const statement = statements[0]!;
  const unsupported = unsupportedConstruct(statement);
  if (unsupported) throw new QueryError(`${unsupported} is not supported yet`, 'UNSUPPORTED');
  if (!SUPPORTED_STATEMENTS.has(statement.type)) {
    throw new QueryError(`${statement.type.toUpperCase()} statements are not supported by query (only SELECT)`, 'UNSUPPORTED');
  }
  return statement;
}

/** Valid PostgreSQL the parser (pgsql-ast-parser) rejects, named so that the error says what to change. */
const UNPARSABLE: Array<[RegExp, string]> = [
  [/\bINTERSECT\b/i, 'INTERSECT'],
  [/\bEXCEPT\b/i, 'EXCEPT'],
  [/\bNATURAL\s+(?:(?:LEFT|RIGHT|FULL|INNER)\s+)?(?:OUTER\s+)?JOIN\b/i, 'NATURAL JOIN (write the ON condition)'],
  [/\bSIMILAR\s+TO\b/i, 'SIMILAR TO (use LIKE)'],
  [/\bBETWEEN\s+SYMMETRIC\b/i, 'BETWEEN SYMMETRIC'],
  [
    /\b(?:ROWS|RANGE|GROUPS)\s+(?:BETWEEN|UNBOUNDED|CURRENT\s+ROW|\d+\s+PRECEDING)/i,
    'a window frame clause (ROWS/RANGE/GROUPS …)',
  ],
  [/\bWINDOW\s+\w+\s+AS\s*\(/i, 'a named WINDOW clause (write the window in OVER (…))'],
  [/\bGROUPING\s+SETS\b/i, 'GROUPING SETS (ROLLUP and CUBE are supported)'],
  [/\bGROUP\s+BY\s*\(\s*\)/i, 'GROUP BY ()'],
  [/\bLIMIT\s+ALL\b/i, 'LIMIT ALL (leave the LIMIT out)'],
  [/\bTABLESAMPLE\b/i, 'TABLESAMPLE'],
  [/\bIS\s+(?:NOT\s+)?DISTINCT\s+FROM\b/i, 'IS [NOT] DISTINCT FROM'],
];

function unparsableConstruct(sql: string): string | undefined {
  const code = sql.replace(/'(?:[^']|'')*'/g, "''").replace(/--[^\n]*/g, ' ');
  return UNPARSABLE.find(([re]) => re.test(code))?.[1];
}

/** Set-returning functions PostgreSQL expands into rows where DuckDB returns a list. */
const SET_RETURNING = new Set([
  'generate_series',
  'unnest',
  'generate_subscripts',
  'regexp_split_to_table',
  'jsonb_array_elements',
  'json_array_elements',
]);

/**
 * Constructs the coordinator (DuckDB) would answer differently from PostgreSQL: refused with a
 * message naming them, never answered wrongly.
 */
function unsupportedConstruct(statement: Statement): string | undefined {
  let found: string | undefined;
  walk(statement as unknown as Node, (n) => {
    if (found) return;
    const fn = n.type === 'call' ? String((n.function as { name: string }).name).toLowerCase() : '';
    // DuckDB interpolates in the input's type (a decimal is rounded); PostgreSQL in double precision.
    if (n.withinGroup && fn === 'percentile_cont')
      found = 'percentile_cont(…) WITHIN GROUP (computed in another precision than PostgreSQL)';
    // DuckDB's ~ must match the whole string; PostgreSQL's matches anywhere.
    if (n.type === 'binary' && ['~', '~*', '!~', '!~*'].includes(String(n.op)))
      found = `the regular-expression operator ${String(n.op)} (use LIKE, or regexp functions)`;
    if (SET_RETURNING.has(fn) && !isInFrom(statement, n)) found = `${fn}(…) in the select list (put it in FROM)`;
  });
  return found;
}

function isInFrom(statement: Statement, call: Node): boolean {
  let inFrom = false;
  walk(statement as unknown as Node, (n) => {
    if (Array.isArray(n.from)) for (const f of n.from as Node[]) walk(f, (m) => void (m === call && (inFrom = true)));
  });
  return inFrom;
}

export function analyzeQuery(sql: string, catalog: Catalog, statement = parseQuery(sql)): QueryAnalysis {
  // Names bound by WITH shadow global relations of the same name.
  const cteNames = new Set<string>();
  walk(statement as unknown as Node, (n) => {
    if ((n.type === 'with' || n.type === 'with recursive') && Array.isArray(n.bind)) {
      for (const b of n.bind as Array<{ alias: { name: string } }>) cteNames.add(b.alias.name.toLowerCase());
    }
  });

  const perRelation = new Map<
    string,
    { relation: Relation; columns: Set<string>; predicates: Predicate[]; references: number }
  >();
  const entry = (relation: Relation) => {
    let e = perRelation.get(relation.name);
    if (!e)
      perRelation.set(relation.name, (e = { relation, columns: new Set(relation.primaryKey), predicates: [], references: 0 }));
    return e;
  };
  const aliasesOf = new Map<string, Set<string>>(); // relation → aliases used anywhere

  walk(statement as unknown as Node, (n) => {
    if (n.type !== 'select' || !Array.isArray(n.from)) return;
    analyzeBlock(n, sql, catalog, cteNames, entry, aliasesOf);
  });

  // Columns: every column name the query mentions that the relation has, qualified by one of its
  // aliases or unqualified (a superset is fine).
  walk(statement as unknown as Node, (n) => {
    if (n.type !== 'ref' || n.name === '*') return;
    const name = String(n.name);
    const qualifier = (n.table as { name?: string } | undefined)?.name?.toLowerCase();
    for (const e of perRelation.values()) {
      const column = e.relation.columns.find((c) => sameName(c.name, name));
      if (!column) continue;
      if (qualifier && !aliasesOf.get(e.relation.name)?.has(qualifier)) continue;
      e.columns.add(column.name);
    }
  });

  const needs = new Map<string, RelationNeeds>();
  for (const [name, e] of perRelation) {
    needs.set(name, {
      relation: e.relation,
      columns: e.columns,
      predicate: e.predicates.some((p) => p.kind === 'const' && p.value === true) ? TRUE : or(...e.predicates),
      references: e.references,
    });
  }
  return { statement, needs };
}

interface BlockItem {
  alias: string;
  relation?: Relation;
  inner: boolean;
  on?: Expr;
}

function analyzeBlock(
  block: Node,
  sql: string,
  catalog: Catalog,
  cteNames: Set<string>,
  entry: (r: Relation) => { columns: Set<string>; predicates: Predicate[]; references: number },
  aliasesOf: Map<string, Set<string>>,
): void {
  const items: BlockItem[] = [];
  for (const from of block.from as Node[]) {
    const join = from.join as { type?: string; on?: Expr; using?: Array<{ name: string }>; natural?: boolean } | undefined;
    let item: BlockItem;
    if (from.type === 'table') {
      const name = from.name as { name: string; alias?: string; schema?: string };
      const relation = !name.schema && cteNames.has(name.name.toLowerCase()) ? undefined : findRelation(catalog, name.name);
      item = { alias: (name.alias ?? name.name).toLowerCase(), ...(relation ? { relation } : {}), inner: true };
    } else {
      const alias = (from.alias as { name?: string } | string | undefined) ?? '';
      item = { alias: (typeof alias === 'string' ? alias : (alias.name ?? '')).toLowerCase(), inner: true };
    }
    const type = join?.type ?? 'INNER JOIN';
    if (type === 'LEFT JOIN') item.inner = false;
    if (type === 'RIGHT JOIN') for (const prev of items) prev.inner = false;
    if (type === 'FULL JOIN') {
      item.inner = false;
      for (const prev of items) prev.inner = false;
    }
    if (join?.on && type === 'INNER JOIN') item.on = join.on;
    items.push(item);
    if (join?.natural || join?.using) {
      // USING / NATURAL join columns are read implicitly: read every column of both sides.
      for (const i of items) if (i.relation) for (const c of i.relation.columns) entry(i.relation).columns.add(c.name);
    }
  }
  for (const item of items) {
    if (!item.relation) continue;
    const e = entry(item.relation);
    e.references++;
    let aliases = aliasesOf.get(item.relation.name);
    if (!aliases) aliasesOf.set(item.relation.name, (aliases = new Set()));
    aliases.add(item.alias);
    aliases.add(item.relation.name.toLowerCase());
  }

  // `SELECT *` (or `alias.*`) reads every column of the relations it covers.
  for (const col of (block.columns as Array<{ expr: Node }> | undefined) ?? []) {
    if (col.expr.type !== 'ref' || col.expr.name !== '*') continue;
    const qualifier = (col.expr.table as { name?: string } | undefined)?.name?.toLowerCase();
    for (const i of items) {
      if (i.relation && (!qualifier || qualifier === i.alias))
        for (const c of i.relation.columns) entry(i.relation).columns.add(c.name);
    }
  }

  // Conditions that constrain one inner relation alone, from WHERE and inner-join ON clauses.
  const conditions = [...conjuncts(block.where as Expr | undefined), ...items.flatMap((i) => conjuncts(i.on))];
  const opaque = items.some((i) => !i.relation); // a subquery or CTE in FROM: unqualified names may be its columns
  const pushed = new Map<BlockItem, Predicate[]>();
  for (const condition of conditions) {
    const refs = refsOf(condition);
    if (!refs || refs.length === 0) continue;
    const owners = new Set<BlockItem>();
    let resolvable = true;
    for (const ref of refs) {
      const owner = ref.table
        ? items.find((i) => i.alias === ref.table!.toLowerCase())
        : opaque
          ? undefined
          : (() => {
              const having = items.filter((i) => i.relation?.columns.some((c) => sameName(c.name, ref.name)));
              return having.length === 1 ? having[0] : undefined;
            })();
      if (!owner || !owner.relation) resolvable = false;
      else owners.add(owner);
    }
    if (!resolvable || owners.size !== 1) continue;
    const [owner] = [...owners] as [BlockItem];
    if (!owner.inner) continue;
    const scope = relationScope(owner.relation!);
    try {
      const p = predicateFromExpr(condition, sql, {
        description: scope.description,
        resolve: (name, qualifier) => (qualifier && qualifier.toLowerCase() !== owner.alias ? undefined : scope.resolve(name)),
      });
      pushed.set(owner, [...(pushed.get(owner) ?? []), p]);
    } catch {
      // Not a form the predicate logic understands (functions, LIKE…): the coordinator applies it.
    }
  }
  // A condition on a parent joined through a child's foreign key (`oi.order_id = o.order_id` with
  // `o.region = 'MSA'`) also constrains the child: carried over, it lets the child's derived
  // fragments be pruned, so co-located joins stay on one site. Applied parent-first, repeatedly,
  // so a grandparent's condition reaches the grandchild.
  const equalities = conditions.flatMap((c) => {
    if (c.type !== 'binary' || c.op !== '=' || c.left.type !== 'ref' || c.right.type !== 'ref') return [];
    const side = (r: { table?: { name: string }; name: string }) => ({
      alias: r.table?.name.toLowerCase(),
      name: r.name.toLowerCase(),
    });
    return [[side(c.left), side(c.right)] as const];
  });
  const joinedThrough = (child: BlockItem, parent: BlockItem, columns: string[], referenced: string[]) =>
    columns.every((col, i) =>
      equalities.some(([a, b]) =>
        [
          [a, b],
          [b, a],
        ].some(
          ([x, y]) =>
            x!.alias === child.alias &&
            x!.name === col.toLowerCase() &&
            y!.alias === parent.alias &&
            y!.name === referenced[i]!.toLowerCase(),
        ),
      ),
    );
  for (let round = 0; round < items.length; round++) {
    let changed = false;
    for (const child of items) {
      if (!child.relation || !child.inner) continue;
      for (const fk of child.relation.foreignKeys) {
        for (const parent of items) {
          if (parent === child || !parent.relation || !parent.inner || !sameName(parent.relation.name, fk.references.relation))
            continue;
          if (!joinedThrough(child, parent, fk.columns, fk.references.columns)) continue;
          const parentPredicate = and(...(pushed.get(parent) ?? []));
          if (parentPredicate.kind === 'const') continue;
          const lifted = liftPredicate(child.relation, parent.relation, fk, parentPredicate);
          const key = JSON.stringify(lifted, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
          const mine = pushed.get(child) ?? [];
          if (mine.some((p) => JSON.stringify(p, (_, v) => (typeof v === 'bigint' ? v.toString() : v)) === key)) continue;
          pushed.set(child, [...mine, lifted]);
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  for (const item of items) {
    if (!item.relation) continue;
    entry(item.relation).predicates.push(and(...(pushed.get(item) ?? [])));
  }
}
