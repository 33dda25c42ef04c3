/**
 * The typed predicate tree. A predicate is parsed once against a scope of typed variables
 * (a relation's columns, or a derived fragment's columns plus its parents' columns) and every
 * literal in it is already a value of its column's domain.
 */
import type { ColumnType } from '../catalog/types.js';
import type { Key } from './domain.js';

/** A typed variable the predicate logic reasons about: usually a column, possibly through a foreign key path. */
export interface Variable {
  /** Unique within a scope, e.g. `region` or `orders.region` for a parent's column. */
  id: string;
  /** How the variable is written in SQL and in witnesses (the column name as the source spells it). */
  name: string;
  type: ColumnType;
  nullable: boolean;
}

export type CompareOp = '=' | '<>' | '<' | '<=' | '>' | '>=';

export type Predicate =
  | { kind: 'const'; value: boolean | null }
  | { kind: 'compare'; variable: Variable; op: CompareOp; value: Key; exact: boolean }
  | { kind: 'in'; variable: Variable; values: Key[]; withNull: boolean; negated: boolean }
  | { kind: 'between'; variable: Variable; low: Key; lowExact: boolean; high: Key; highExact: boolean; negated: boolean }
  | { kind: 'isNull'; variable: Variable; negated: boolean }
  /** A boolean column used as a condition on its own: `WHERE active`. */
  | { kind: 'column'; variable: Variable }
  /** `P IS [NOT] TRUE | FALSE | UNKNOWN`. */
  | { kind: 'is'; operand: Predicate; truth: boolean | null; negated: boolean }
  | { kind: 'and'; args: Predicate[] }
  | { kind: 'or'; args: Predicate[] }
  | { kind: 'not'; arg: Predicate };

export const TRUE: Predicate = { kind: 'const', value: true };
export const FALSE: Predicate = { kind: 'const', value: false };

export function and(...args: Predicate[]): Predicate {
  const flat = args.flatMap((a) => (a.kind === 'and' ? a.args : [a])).filter((a) => !(a.kind === 'const' && a.value === true));
  if (flat.length === 0) return TRUE;
  return flat.length === 1 ? flat[0]! : { kind: 'and', args: flat };
}

export function or(...args: Predicate[]): Predicate {
  const flat = args.flatMap((a) => (a.kind === 'or' ? a.args : [a])).filter((a) => !(a.kind === 'const' && a.value === false));
  if (flat.length === 0) return FALSE;
  return flat.length === 1 ? flat[0]! : { kind: 'or', args: flat };
}

export function not(arg: Predicate): Predicate {
  return { kind: 'not', arg };
}

/** The variables a predicate mentions, each once, in order of appearance. */
export function variablesOf(p: Predicate, into = new Map<string, Variable>()): Map<string, Variable> {
  switch (p.kind) {
    case 'const':
      break;
    case 'and':
    case 'or':
      p.args.forEach((a) => variablesOf(a, into));
      break;
    case 'not':
      variablesOf(p.arg, into);
      break;
    case 'is':
      variablesOf(p.operand, into);
      break;
    default:
      if (!into.has(p.variable.id)) into.set(p.variable.id, p.variable);
  }
  return into;
}

/** Replaces every variable by the one `rename` gives (used to lift a parent's predicate through a foreign key). */
export function mapVariables(p: Predicate, rename: (v: Variable) => Variable): Predicate {
  switch (p.kind) {
    case 'const':
      return p;
    case 'and':
    case 'or':
      return { kind: p.kind, args: p.args.map((a) => mapVariables(a, rename)) };
    case 'not':
      return { kind: 'not', arg: mapVariables(p.arg, rename) };
    case 'is':
      return { ...p, operand: mapVariables(p.operand, rename) };
    default:
      return { ...p, variable: rename(p.variable) };
  }
}
