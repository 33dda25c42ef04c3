/**
 * Parsing SQL boolean expressions (fragment predicates, CHECK constraints) into typed predicate
 * trees, with pgsql-ast-parser doing the SQL grammar. Each column is resolved in a {@link Scope},
 * each literal converted into a value of its column's domain, and every form we cannot reason about
 * is refused with a message that says which one.
 */
import { type Expr, parse } from 'pgsql-ast-parser';
import type { TypeFamily } from '../catalog/types.js';
import { type CompareOp, type Predicate, type Variable, and, not, or } from './ast.js';
import { type Key, type Literal, LiteralTypeError, domainOf } from './domain.js';

export interface Scope {
  /** The variable a (possibly qualified) column name denotes, matched without regard to case. */
  resolve(name: string, qualifier?: string): Variable | undefined;
  /** For messages: "relation EMPLOYEE". */
  readonly description: string;
}

export class PredicateError extends Error {
  constructor(
    message: string,
    readonly expression: string,
  ) {
    super(message);
    this.name = 'PredicateError';
  }
}

const COMPARE_OPS: Record<string, CompareOp> = { '=': '=', '!=': '<>', '<>': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };
const FLIPPED: Record<CompareOp, CompareOp> = { '=': '=', '<>': '<>', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

/** The family a cast target belongs to, to check that `'…'::date` meets a date column. */
function castFamily(typeName: string): TypeFamily | 'number' | undefined {
  const t = typeName.toLowerCase().replace(/\(.*$/, '').trim();
  if (
    [
      'int',
      'int2',
      'int4',
      'int8',
      'integer',
      'smallint',
      'bigint',
      'numeric',
      'decimal',
      'real',
      'float',
      'float4',
      'float8',
      'double precision',
    ].includes(t)
  )
    return 'number';
  if (['text', 'varchar', 'character varying', 'char', 'character', 'bpchar', 'name', 'citext'].includes(t)) return 'text';
  if (['bool', 'boolean'].includes(t)) return 'boolean';
  if (t === 'date') return 'date';
  if (t === 'timestamp' || t === 'timestamp without time zone') return 'timestamp';
  if (t === 'timestamptz' || t === 'timestamp with time zone') return 'timestamptz';
  if (t === 'time' || t === 'time without time zone') return 'time';
  if (t === 'uuid') return 'uuid';
  if (t === 'json' || t === 'jsonb') return 'json';
  return undefined;
}

function familiesMeet(column: TypeFamily, cast: TypeFamily | 'number'): boolean {
  if (cast === 'number') return column === 'integer' || column === 'decimal' || column === 'float';
  if (cast === 'text') return column === 'text' || column === 'uuid' || column === 'json' || column === 'other';
  return cast === column;
}

/** Syntax trees by text: designs repeat the same predicates and CHECKs across many fragments. */
const syntaxCache = new Map<string, Expr | PredicateError>();

function syntaxOf(sql: string): Expr {
  let cached = syntaxCache.get(sql);
  if (!cached) {
    try {
      const parsed = parse(sql, { entry: 'expr', locationTracking: true }) as unknown as Expr | Expr[];
      cached = Array.isArray(parsed) ? parsed[0]! : parsed;
    } catch (e) {
      cached = new PredicateError(`cannot parse predicate "${sql}": ${parserMessage(e)}`, sql);
    }
    if (syntaxCache.size > 10_000) syntaxCache.clear();
    syntaxCache.set(sql, cached);
  }
  if (cached instanceof PredicateError) throw cached;
  return cached;
}

/** The first lines of pgsql-ast-parser's message (the rest lists every token it expected). */
export function parserMessage(e: unknown): string {
  return String((e as Error).message)
    .split('\n')
    .slice(0, 3)
    .join(' ')
    .replace(/\s+/g, ' ');
}

export function parsePredicate(sql: string, scope: Scope): Predicate {
  return new PredicateParser(sql, scope).predicate(syntaxOf(sql));
}

/**
 * A predicate from an expression already parsed (with location tracking) out of `sql`, e.g. one
 * conjunct of a query's WHERE clause; `sql` is the whole text the locations point into.
 */
export function predicateFromExpr(expr: Expr, sql: string, scope: Scope, params?: readonly unknown[]): Predicate {
  return new PredicateParser(sql, scope, params).predicate(expr);
}

class PredicateParser {
  constructor(
    private readonly sql: string,
    private readonly scope: Scope,
    /** Values of `$1`, `$2`… when the statement was parsed with its parameters unbound. */
    private readonly params?: readonly unknown[],
  ) {}

  private fail(message: string): never {
    throw new PredicateError(`in "${this.sql}": ${message}`, this.sql);
  }

  private text(e: Expr): string {
    const loc = (e as { _location?: { start: number; end: number } })._location;
    return loc ? this.sql.slice(loc.start, loc.end) : e.type;
  }

  predicate(e: Expr): Predicate {
    switch (e.type) {
      case 'boolean':
        return { kind: 'const', value: e.value };
      case 'null':
        return { kind: 'const', value: null };
      case 'ref': {
        const v = this.variable(e);
        if (v.type.family !== 'boolean') this.fail(`column ${v.name} is not boolean and cannot stand alone as a condition`);
        return { kind: 'column', variable: v };
      }
      case 'unary':
        return this.unary(e);
      case 'binary':
        return this.binary(e);
      case 'ternary': {
        const v = this.variable(e.value);
        const low = this.keyOf(e.lo, v);
        const high = this.keyOf(e.hi, v);
        if (low === null || high === null) return { kind: 'const', value: null };
        this.requireOrdered(v, 'BETWEEN');
        return {
          kind: 'between',
          variable: v,
          low: low.key,
          lowExact: low.exact,
          high: high.key,
          highExact: high.exact,
          negated: e.op === 'NOT BETWEEN',
        };
      }
      default:
        return this.fail(`${this.text(e)} is not a condition ddbkit can reason about (${e.type})`);
    }
  }

  private unary(e: Extract<Expr, { type: 'unary' }>): Predicate {
    switch (e.op) {
      case 'NOT':
        return not(this.predicate(e.operand));
      case 'IS NULL':
      case 'IS NOT NULL': {
        const negated = e.op === 'IS NOT NULL';
        const target = this.unwrapCast(e.operand);
        if (target.type === 'ref') return { kind: 'isNull', variable: this.variable(target), negated };
        return { kind: 'is', operand: this.predicate(e.operand), truth: null, negated };
      }
      case 'IS TRUE':
      case 'IS NOT TRUE':
      case 'IS FALSE':
      case 'IS NOT FALSE':
        return { kind: 'is', operand: this.predicate(e.operand), truth: e.op.endsWith('TRUE'), negated: e.op.includes('NOT') };
      default:
        return this.fail(`operator ${e.op} is not supported in predicates`);
    }
  }

  private binary(e: Extract<Expr, { type: 'binary' }>): Predicate {
    if (e.op === 'AND') return and(this.predicate(e.left), this.predicate(e.right));
    if (e.op === 'OR') return or(this.predicate(e.left), this.predicate(e.right));
    if (e.op === 'IN' || e.op === 'NOT IN') {
      // `x IN (0)` parses as a parenthesised value rather than a one-element list
      const items = e.right.type === 'list' ? e.right.expressions : [e.right];
      return this.inList(this.variable(this.unwrapCast(e.left)), items, e.op === 'NOT IN');
    }
    const op = COMPARE_OPS[e.op];
    if (!op)
      return this.fail(
        `operator ${e.op} is not supported in predicates (supported: = <> < <= > >= BETWEEN IN IS NULL AND OR NOT)`,
      );
    // `col = ANY (ARRAY[…])` and `col <> ALL (ARRAY[…])`: how PostgreSQL prints IN lists in CHECKs.
    if (e.right.type === 'call' && ['any', 'all'].includes(e.right.function.name.toLowerCase())) {
      const quantifier = e.right.function.name.toLowerCase();
      const array = this.unwrapCast(e.right.args[0] as Expr);
      if (array.type !== 'array') this.fail(`${quantifier.toUpperCase()} needs an ARRAY[…] of values`);
      if (op === '=' && quantifier === 'any')
        return this.inList(this.variable(this.unwrapCast(e.left)), array.expressions, false);
      if (op === '<>' && quantifier === 'all')
        return this.inList(this.variable(this.unwrapCast(e.left)), array.expressions, true);
      return this.fail(`${e.op} ${quantifier.toUpperCase()} (…) is not supported`);
    }
    const left = this.unwrapCast(e.left);
    const right = this.unwrapCast(e.right);
    if (left.type === 'ref' && right.type === 'ref') {
      return this.fail(
        `comparing two columns (${this.text(e)}) is not supported: fragment predicates compare a column with a value`,
      );
    }
    if (left.type === 'ref') return this.compare(this.variable(left), op, e.right);
    if (right.type === 'ref') return this.compare(this.variable(right), FLIPPED[op], e.left);
    return this.fail(`${this.text(e)} does not compare a column with a value`);
  }

  private compare(v: Variable, op: CompareOp, valueExpr: Expr): Predicate {
    const value = this.keyOf(valueExpr, v);
    if (value === null) return { kind: 'const', value: null }; // x = NULL is never TRUE nor FALSE
    if (op !== '=' && op !== '<>') this.requireOrdered(v, op);
    return { kind: 'compare', variable: v, op, value: value.key, exact: value.exact };
  }

  private inList(v: Variable, items: Expr[], negated: boolean): Predicate {
    const values: Key[] = [];
    let withNull = false;
    for (const item of items) {
      const k = this.keyOf(item, v);
      if (k === null) withNull = true;
      else if (k.exact) values.push(k.key); // a value the column cannot hold never matches
    }
    return { kind: 'in', variable: v, values, withNull, negated };
  }

  private requireOrdered(v: Variable, op: string): void {
    if (!domainOf(v.type).ordered) this.fail(`${op} is not supported on column ${v.name} of type ${v.type.sqlType}`);
  }

  private unwrapCast(e: Expr): Expr {
    // `(status)::text` on a column and `(ARRAY[…])::text[]` are PostgreSQL's printing habits.
    if (e.type === 'cast' && (e.operand.type === 'ref' || e.operand.type === 'array' || e.operand.type === 'cast')) {
      return this.unwrapCast(e.operand);
    }
    return e;
  }

  private variable(e: Expr): Variable {
    if (e.type !== 'ref') return this.fail(`${this.text(e)} is not a column`);
    if (e.name === '*') this.fail('* is not a column');
    const v = this.scope.resolve(e.name, e.table?.name);
    if (!v) {
      const qualified = e.table ? `${e.table.name}.${e.name}` : e.name;
      return this.fail(`unknown column ${qualified} in ${this.scope.description}`);
    }
    return v;
  }

  /** The key of a literal for the column it is compared with; null for the NULL literal. */
  private keyOf(e: Expr, v: Variable): { key: Key; exact: boolean } | null {
    const lit = this.literal(e, v);
    if (lit.kind === 'null') return null;
    try {
      return domainOf(v.type).fromLiteral(lit);
    } catch (err) {
      if (err instanceof LiteralTypeError) return this.fail(`${err.message} (column ${v.name})`);
      throw err;
    }
  }

  private literal(e: Expr, v: Variable): Literal {
    switch (e.type) {
      case 'integer':
      case 'numeric':
        return { kind: 'number', text: this.text(e) };
      case 'string':
        return { kind: 'string', text: e.value };
      case 'boolean':
        return { kind: 'boolean', value: e.value };
      case 'null':
        return { kind: 'null' };
      case 'parameter':
        return this.parameter(e.name, v);
      case 'unary':
        if (e.op === '-' && (e.operand.type === 'integer' || e.operand.type === 'numeric')) {
          return { kind: 'number', text: `-${this.text(e.operand)}` };
        }
        break;
      case 'cast': {
        const target = 'name' in e.to ? e.to.name : undefined;
        const family = target ? castFamily(target) : undefined;
        if (!family) return this.fail(`cast to ${target ?? 'an array'} in ${this.text(e)} is not supported`);
        if (!familiesMeet(v.type.family, family)) {
          return this.fail(`column ${v.name} of type ${v.type.sqlType} is compared with a value of type ${target}`);
        }
        const inner = this.literal(e.operand, v);
        return inner.kind === 'string' && family === 'number' ? { kind: 'number', text: inner.text } : inner;
      }
      default:
        break;
    }
    return this.fail(`${this.text(e)} is not a literal value (fragment predicates compare columns with constants)`);
  }

  /** A bound parameter, read as PostgreSQL reads an untyped one: in the type of the column it meets. */
  private parameter(name: string, v: Variable): Literal {
    const n = Number(name.slice(1));
    if (!this.params || !Number.isInteger(n) || n < 1 || n > this.params.length)
      return this.fail(`parameter ${name} has no value (${this.params?.length ?? 0} given)`);
    const value = this.params[n - 1];
    if (value === null || value === undefined) return { kind: 'null' };
    if (typeof value === 'boolean') return { kind: 'boolean', value };
    if (typeof value === 'number' || typeof value === 'bigint') return { kind: 'number', text: String(value) };
    const text = value instanceof Date ? value.toISOString() : String(value);
    const numeric = v.type.family === 'integer' || v.type.family === 'decimal' || v.type.family === 'float';
    return numeric && /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(text)
      ? { kind: 'number', text: text.trim() }
      : { kind: 'string', text };
  }
}
