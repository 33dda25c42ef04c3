/**
 * Evaluating a predicate on one row with SQL's three-valued logic: TRUE, FALSE or null (UNKNOWN).
 * Used to check witnesses and, in the property tests, as the brute-force reference.
 */
import type { CompareOp, Predicate } from './ast.js';
import { type Key, domainOf } from './domain.js';

export type Row = ReadonlyMap<string, Key | null>;
export type Truth3 = boolean | null;

function and3(values: Truth3[]): Truth3 {
  if (values.includes(false)) return false;
  return values.includes(null) ? null : true;
}

function or3(values: Truth3[]): Truth3 {
  if (values.includes(true)) return true;
  return values.includes(null) ? null : false;
}

function not3(v: Truth3): Truth3 {
  return v === null ? null : !v;
}

/** Whether `op` holds between two values whose comparison (negative, zero, positive) is `c`. */
export function holds(op: CompareOp, c: number): boolean {
  switch (op) {
    case '=':
      return c === 0;
    case '<>':
      return c !== 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
  }
}

export function evaluate(p: Predicate, row: Row): Truth3 {
  switch (p.kind) {
    case 'const':
      return p.value;
    case 'and':
      return and3(p.args.map((a) => evaluate(a, row)));
    case 'or':
      return or3(p.args.map((a) => evaluate(a, row)));
    case 'not':
      return not3(evaluate(p.arg, row));
    case 'is': {
      const v = evaluate(p.operand, row);
      const match = v === p.truth;
      return p.negated ? !match : match;
    }
    case 'isNull': {
      const isNull = (row.get(p.variable.id) ?? null) === null;
      return p.negated ? !isNull : isNull;
    }
    default:
      break;
  }
  const value = row.get(p.variable.id) ?? null;
  if (value === null) return null;
  const cmp = domainOf(p.variable.type).compare;
  switch (p.kind) {
    case 'column':
      return value === 1n;
    case 'compare': {
      const c = cmp(value, p.value);
      // An inexact literal lies strictly above p.value (and below the next representable value).
      if (!p.exact) {
        if (p.op === '=') return false;
        if (p.op === '<>') return true;
        return p.op === '<' || p.op === '<=' ? c <= 0 : c > 0;
      }
      return holds(p.op, c);
    }
    case 'in': {
      const found = p.values.some((k) => cmp(value, k) === 0);
      const r: Truth3 = found ? true : p.withNull ? null : false;
      return p.negated ? not3(r) : r;
    }
    case 'between': {
      const aboveLow = p.lowExact ? cmp(value, p.low) >= 0 : cmp(value, p.low) > 0;
      const belowHigh = cmp(value, p.high) <= 0;
      const r = aboveLow && belowHigh;
      return p.negated ? !r : r;
    }
  }
  return null;
}
