/**
 * From SQL's three-valued predicates to classical formulas over value sets.
 *
 * A row belongs to a fragment only when its predicate is TRUE; FALSE and UNKNOWN both keep it out.
 * We therefore translate each predicate P into two ordinary (two-valued) formulas over the row's
 * column values: `truthy(P)` — P evaluates to TRUE — and `falsy(P)` — P evaluates to FALSE. Their
 * atoms say "column c takes a value in set S" where S may or may not contain NULL; negating an atom
 * complements S, NULL included, so "P is not TRUE" is simply the negation of truthy(P).
 */
import type { Predicate, Variable } from './ast.js';
import { domainOf } from './domain.js';
import { ValueSets, type ValueSet } from './value-set.js';

export type Formula =
  | { t: 'const'; value: boolean }
  | { t: 'atom'; v: string; set: ValueSet }
  | { t: 'and'; fs: Formula[] }
  | { t: 'or'; fs: Formula[] };

export const TOP: Formula = { t: 'const', value: true };
export const BOTTOM: Formula = { t: 'const', value: false };

/** The variables of one reasoning problem with their domains and set operations. */
export class VariableRegistry {
  private readonly entries = new Map<string, { variable: Variable; sets: ValueSets }>();

  register(v: Variable): ValueSets {
    let e = this.entries.get(v.id);
    if (!e) {
      e = { variable: v, sets: ValueSets.of(domainOf(v.type)) };
      this.entries.set(v.id, e);
    }
    return e.sets;
  }

  sets(id: string): ValueSets {
    const e = this.entries.get(id);
    if (!e) throw new Error(`unknown variable ${id}`);
    return e.sets;
  }

  variable(id: string): Variable {
    const e = this.entries.get(id);
    if (!e) throw new Error(`unknown variable ${id}`);
    return e.variable;
  }

  /** Everything a column may hold: its type's values, and NULL unless it is NOT NULL. */
  baseSet(id: string): ValueSet {
    const e = this.entries.get(id)!;
    return e.sets.all(e.variable.nullable);
  }
}

export class Translator {
  constructor(private readonly registry: VariableRegistry) {}

  /** The rows on which p is TRUE. */
  truthy(p: Predicate): Formula {
    switch (p.kind) {
      case 'const':
        return p.value === true ? TOP : BOTTOM;
      case 'and':
        return this.and(p.args.map((a) => this.truthy(a)));
      case 'or':
        return this.or(p.args.map((a) => this.truthy(a)));
      case 'not':
        return this.falsy(p.arg);
      case 'is': {
        const base =
          p.truth === true ? this.truthy(p.operand) : p.truth === false ? this.falsy(p.operand) : this.unknown(p.operand);
        return p.negated ? this.negate(base) : base;
      }
      default:
        return this.atomOf(p, true);
    }
  }

  /** The rows on which p is FALSE. */
  falsy(p: Predicate): Formula {
    switch (p.kind) {
      case 'const':
        return p.value === false ? TOP : BOTTOM;
      case 'and':
        return this.or(p.args.map((a) => this.falsy(a)));
      case 'or':
        return this.and(p.args.map((a) => this.falsy(a)));
      case 'not':
        return this.truthy(p.arg);
      case 'is':
        return this.negate(this.truthy(p)); // IS … never yields UNKNOWN
      default:
        return this.atomOf(p, false);
    }
  }

  /** The rows on which p is UNKNOWN (NULL). */
  unknown(p: Predicate): Formula {
    return this.and([this.negate(this.truthy(p)), this.negate(this.falsy(p))]);
  }

  /** Classical negation: atoms complement their set, NULL included. */
  negate(f: Formula): Formula {
    switch (f.t) {
      case 'const':
        return f.value ? BOTTOM : TOP;
      case 'atom':
        return this.atom(f.v, this.registry.sets(f.v).complement(f.set));
      case 'and':
        return this.or(f.fs.map((x) => this.negate(x)));
      case 'or':
        return this.and(f.fs.map((x) => this.negate(x)));
    }
  }

  and(fs: Formula[]): Formula {
    return this.combine('and', fs);
  }

  or(fs: Formula[]): Formula {
    return this.combine('or', fs);
  }

  atom(v: string, set: ValueSet): Formula {
    const sets = this.registry.sets(v);
    if (sets.isEmpty(set)) return BOTTOM;
    if (sets.isAll(set, true)) return TOP;
    return { t: 'atom', v, set };
  }

  /** The atom for a leaf predicate: the set of values making it TRUE (when = true) or FALSE. */
  private atomOf(p: Exclude<Predicate, { kind: 'const' | 'and' | 'or' | 'not' | 'is' }>, when: boolean): Formula {
    const sets = this.registry.register(p.variable);
    const id = p.variable.id;
    let trueSet: ValueSet;
    switch (p.kind) {
      case 'isNull': {
        const isNull = (p.negated ? !when : when) === true;
        return this.atom(id, isNull ? sets.onlyNull : sets.all(false));
      }
      case 'compare':
        trueSet = sets.compare(p.op, p.value, p.exact);
        break;
      case 'column':
        trueSet = sets.point(1n);
        break;
      case 'in': {
        const members = sets.points(p.values);
        // `x IN (…, NULL)` is never FALSE and `x NOT IN (…, NULL)` never TRUE.
        const inTrue = members;
        const inFalse = p.withNull ? sets.empty : sets.complementValues(members);
        return this.atom(id, (p.negated ? !when : when) ? inTrue : inFalse);
      }
      case 'between': {
        const lo = { key: p.low, inclusive: p.lowExact };
        const hi = { key: p.high, inclusive: true };
        const inside = sets.range(lo, hi);
        const inTrue = inside;
        const inFalse = sets.complementValues(inside);
        return this.atom(id, (p.negated ? !when : when) ? inTrue : inFalse);
      }
    }
    // TRUE and FALSE both need a non-NULL value; FALSE takes the other values of the column's type.
    return this.atom(id, when ? trueSet : sets.complementValues(trueSet));
  }

  private combine(op: 'and' | 'or', fs: Formula[]): Formula {
    const absorbing = op === 'or'; // TRUE absorbs an OR, FALSE absorbs an AND
    const atoms = new Map<string, ValueSet>();
    const rest: Formula[] = [];
    const visit = (f: Formula): boolean => {
      if (f.t === 'const') return f.value === absorbing;
      if (f.t === op) return f.fs.some(visit);
      if (f.t === 'atom') {
        const sets = this.registry.sets(f.v);
        const prev = atoms.get(f.v);
        atoms.set(f.v, prev ? (op === 'and' ? sets.intersect(prev, f.set) : sets.union(prev, f.set)) : f.set);
        return false;
      }
      rest.push(f);
      return false;
    };
    for (const f of fs) if (visit(f)) return { t: 'const', value: absorbing };
    const out: Formula[] = [];
    for (const [v, set] of atoms) {
      const a = this.atom(v, set);
      if (a.t === 'const') {
        if (a.value === absorbing) return a;
        continue;
      }
      out.push(a);
    }
    out.push(...rest);
    if (out.length === 0) return { t: 'const', value: !absorbing };
    return out.length === 1 ? out[0]! : { t: op, fs: out };
  }
}
