/**
 * Values on the write path: parameters bound into statements, literals read from the statement
 * text (exactly: `0.1` stays `0.1`), values given the type of their column, and each engine's
 * spelling of them. Values travel in ddbkit's canonical form (see engines/values.ts).
 */
import type { Expr } from 'pgsql-ast-parser';
import type { Column, ColumnType } from '../catalog/types.js';
import type { Dialect } from '../engines/dialect.js';
import { canonicalValue, valueTypeOf } from '../engines/values.js';
import type { Key } from '../predicate/index.js';
import { InexactValueError, keyOfValue } from '../predicate/key-of.js';
import { WriteError } from './errors.js';

/**
 * Replaces `$1`, `$2`, … by SQL literals of the given values (outside quoted strings, quoted
 * identifiers and comments). Strings are quoted, numbers and bigints written as they are, booleans
 * as TRUE/FALSE, null/undefined as NULL, Dates as ISO timestamps.
 */
export function bindParams(sql: string, params: readonly unknown[] | undefined): string {
  if (!params || params.length === 0) {
    if (/\$\d/.test(stripQuoted(sql)))
      throw new WriteError('the statement has $n parameters but no values were given', 'statement');
    return sql;
  }
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i]!;
    if (ch === "'" || ch === '"') {
      const end = closingQuote(sql, i, ch);
      out += sql.slice(i, end);
      i = end;
    } else if (ch === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (ch === '$' && /\d/.test(sql[i + 1] ?? '')) {
      let j = i + 1;
      while (j < sql.length && /\d/.test(sql[j]!)) j++;
      const n = Number(sql.slice(i + 1, j));
      if (n < 1 || n > params.length) throw new WriteError(`parameter $${n} has no value (${params.length} given)`, 'statement');
      out += paramLiteral(params[n - 1]);
      i = j;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

function closingQuote(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return sql.length;
}

function stripQuoted(sql: string): string {
  return sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"/g, "''");
}

function paramLiteral(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new WriteError(`parameter value ${v} is not a finite number`, 'statement');
    return String(v);
  }
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (v instanceof Date) return `'${v.toISOString()}'`;
  if (typeof v === 'string') return `'${v.replace(/'/g, "''")}'`;
  throw new WriteError(`parameter values must be strings, numbers, booleans, Dates or null (got ${typeof v})`, 'statement');
}

/** Marks a literal that could not be read as a constant: the caller evaluates it another way. */
export const NOT_CONSTANT = Symbol('not constant');

/**
 * The value of a constant expression (literal, NULL, a signed number, a cast of a literal),
 * read from the statement text so that numbers keep every digit; NOT_CONSTANT otherwise.
 */
export function constantValue(expr: Expr, sql: string, params?: readonly unknown[]): unknown {
  switch (expr.type) {
    case 'null':
      return null;
    case 'parameter':
      return paramValue(expr.name, params);
    case 'boolean':
      return expr.value;
    case 'string':
      return expr.value;
    case 'integer':
    case 'numeric':
      return numberText(expr, sql);
    case 'unary':
      if (expr.op === '-' || expr.op === '+') {
        const inner = constantValue(expr.operand, sql, params);
        if (typeof inner !== 'string' || !/^[\d.eE+-]+$/.test(inner)) return NOT_CONSTANT;
        return expr.op === '-' ? (inner.startsWith('-') ? inner.slice(1) : `-${inner}`) : inner;
      }
      return NOT_CONSTANT;
    case 'cast': {
      const inner = constantValue(expr.operand, sql, params);
      return inner === NOT_CONSTANT ? NOT_CONSTANT : inner;
    }
    default:
      return NOT_CONSTANT;
  }
}

/** The value of `$n` (numbers as their text, as literals are read). */
export function paramValue(name: string, params: readonly unknown[] | undefined): unknown {
  const n = Number(name.slice(1));
  if (!params || !Number.isInteger(n) || n < 1 || n > params.length)
    throw new WriteError(`parameter ${name} has no value (${params?.length ?? 0} given)`, 'statement');
  const v = params[n - 1];
  if (v === undefined || v === null) return null;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new WriteError(`parameter ${name}: ${v} is not a finite number`, 'statement');
    return String(v);
  }
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.toISOString();
  return v;
}

/** A number literal's text: the parser gives a JS number, which would lose digits of a decimal. */
function numberText(expr: Expr & { type: 'integer' | 'numeric' }, sql: string): string {
  const loc = (expr as { _location?: { start: number; end: number } })._location;
  if (loc) {
    const text = sql.slice(loc.start, loc.end).trim();
    if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return text;
  }
  return String(expr.value);
}

/** A value given the type of its column (canonical form), or a clear error naming the column. */
export function columnValue(relation: string, column: Column, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  const family = column.type.family;
  if (family === 'binary') {
    if (Buffer.isBuffer(value)) return value;
    throw new WriteError(
      `column ${relation}.${column.name} (${column.type.sqlType}): binary values cannot be written through ddbkit`,
      'statement',
    );
  }
  let v = value;
  if (typeof v === 'bigint') v = v.toString();
  if (family === 'text' || family === 'json' || family === 'uuid' || family === 'other')
    return typeof v === 'string' ? v : String(v);
  try {
    const canonical = canonicalValue(v, valueTypeOf(column.type));
    keyOf(column, canonical); // refuses what the column cannot hold
    return canonical;
  } catch (e) {
    if (e instanceof WriteError) throw e;
    throw new WriteError(
      `column ${relation}.${column.name} (${column.type.sqlType}) cannot hold ${JSON.stringify(String(value))}: ${(e as Error).message}`,
      'statement',
    );
  }
}

/** The predicate logic's key of a canonical value (for evaluating fragment predicates and CHECKs). */
export function keyOf(column: { name: string; type: ColumnType }, value: unknown): Key | null {
  try {
    return keyOfValue(column.type, value, column.name);
  } catch (e) {
    if (e instanceof InexactValueError) throw new WriteError(e.message, 'statement');
    throw e;
  }
}

/** A value spelled for a site's engine. */
export function sqlLiteral(dialect: Dialect, column: Column, value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  const family = column.type.family;
  if (family === 'json' || family === 'uuid' || family === 'other') return dialect.literal(TEXT, String(value));
  return dialect.literal(column.type, keyOf(column, value)!);
}

const TEXT: ColumnType = { family: 'text', sqlType: 'text' };

/** A stable text for comparing values of a column (keys of maps). */
export function valueKey(values: readonly unknown[]): string {
  return JSON.stringify(values, (_, v: unknown) =>
    typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) ? v.toString('hex') : v,
  );
}
