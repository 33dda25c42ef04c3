/**
 * Deciding satisfiability, implication and equivalence of predicates, with witness rows.
 *
 * Every atom constrains a single column, so a conjunction of atoms is satisfiable exactly when,
 * column by column, the intersection of their value sets is not empty. The solver is a tableau:
 * it intersects atoms into an environment (column → allowed set), and branches on disjunctions,
 * the smallest first, after dropping the disjuncts the environment already contradicts. The
 * answer is exact over the columns' domains (types, NOT NULL, CHECK constraints); nothing is sampled.
 */
import type { Predicate, Variable } from './ast.js';
import { variablesOf } from './ast.js';
import { type Key, domainOf } from './domain.js';
import { type Formula, Translator, VariableRegistry } from './formula.js';
import type { ValueSet } from './value-set.js';

/** What a goal asks of a predicate on the witness row. */
export type Truth = 'true' | 'false' | 'unknown' | 'notTrue' | 'notFalse';

export interface Goal {
  predicate: Predicate;
  is: Truth;
}

export type JsonValue = string | number | boolean | null;

/** A concrete row: one value (or NULL) for each column the question is about. */
export class Witness {
  constructor(readonly values: ReadonlyMap<string, { variable: Variable; key: Key | null }>) {}

  key(id: string): Key | null | undefined {
    return this.values.get(id)?.key;
  }

  /** `{ column: value }` with JSON values: numbers as numbers, NULL as null, dates as ISO strings. */
  toJson(): Record<string, JsonValue> {
    const out: Record<string, JsonValue> = {};
    for (const { variable, key } of this.values.values()) {
      out[variable.name] = key === null ? null : jsonOf(variable, key);
    }
    return out;
  }
}

function jsonOf(variable: Variable, key: Key): JsonValue {
  return domainOf(variable.type).toJson(key);
}

type Env = Map<string, ValueSet>;

/**
 * A reasoning context: the constraints every row satisfies (CHECK constraints: never FALSE), and
 * the variables met so far. One universe per relation (or per derived-fragment scope) is typical.
 */
export class Universe {
  private readonly registry = new VariableRegistry();
  private readonly translator = new Translator(this.registry);
  private readonly constraintFormula: Formula;

  constructor(constraints: Predicate[] = []) {
    for (const c of constraints) this.registerAll(c);
    this.constraintFormula = this.translator.and(constraints.map((c) => this.translator.negate(this.translator.falsy(c))));
  }

  /** A row on which every goal holds, or null when there is none. */
  findRow(goals: Goal[], options: { show?: Variable[] } = {}): Witness | null {
    const shown = new Map<string, Variable>();
    for (const g of goals) variablesOf(g.predicate, shown);
    for (const v of options.show ?? []) shown.set(v.id, v);
    for (const v of shown.values()) this.registry.register(v);
    const formula = this.translator.and([this.constraintFormula, ...goals.map((g) => this.formulaOf(g))]);
    const env = this.solve(formula);
    if (!env) return null;
    const values = new Map<string, { variable: Variable; key: Key | null }>();
    for (const [id, variable] of shown) {
      const set = env.get(id) ?? this.registry.baseSet(id);
      values.set(id, { variable, key: this.registry.sets(id).pick(set) });
    }
    return new Witness(values);
  }

  /** Whether some row makes p TRUE. */
  satisfiable(p: Predicate): boolean {
    return this.findRow([{ predicate: p, is: 'true' }]) !== null;
  }

  /** Whether every row on which p is TRUE makes q TRUE as well. */
  implies(p: Predicate, q: Predicate): boolean {
    return (
      this.findRow([
        { predicate: p, is: 'true' },
        { predicate: q, is: 'notTrue' },
      ]) === null
    );
  }

  /** Whether p and q are TRUE on exactly the same rows (they select the same fragment). */
  equivalent(p: Predicate, q: Predicate): boolean {
    return this.implies(p, q) && this.implies(q, p);
  }

  /**
   * The value a column must take on every row where p is TRUE, if p fixes one (e.g. `region = 'NBO'`
   * fixes region); `{ key: null }` when p forces NULL; undefined when it does not fix the column.
   */
  fixedValue(p: Predicate, column: Variable): { key: Key | null } | undefined {
    const some = this.findRow([{ predicate: p, is: 'true' }], { show: [column] });
    if (!some) return undefined;
    const key = some.key(column.id) ?? null;
    const other: Predicate =
      key === null
        ? { kind: 'isNull', variable: column, negated: true }
        : { kind: 'compare', variable: column, op: '=', value: key, exact: true };
    const differs = this.findRow([
      { predicate: p, is: 'true' },
      { predicate: other, is: key === null ? 'true' : 'notTrue' },
    ]);
    return differs ? undefined : { key };
  }

  private registerAll(p: Predicate): void {
    for (const v of variablesOf(p).values()) this.registry.register(v);
  }

  /** Translations are cached per predicate object: validation asks about the same memberships often. */
  private readonly formulas = new WeakMap<Predicate, Partial<Record<Truth, Formula>>>();

  private formulaOf(g: Goal): Formula {
    let byTruth = this.formulas.get(g.predicate);
    if (!byTruth) this.formulas.set(g.predicate, (byTruth = {}));
    return (byTruth[g.is] ??= this.translate(g));
  }

  private translate(g: Goal): Formula {
    const t = this.translator;
    this.registerAll(g.predicate);
    switch (g.is) {
      case 'true':
        return t.truthy(g.predicate);
      case 'false':
        return t.falsy(g.predicate);
      case 'unknown':
        return t.unknown(g.predicate);
      case 'notTrue':
        return t.negate(t.truthy(g.predicate));
      case 'notFalse':
        return t.negate(t.falsy(g.predicate));
    }
  }

  private solve(formula: Formula): Env | null {
    return this.search([formula], new Map());
  }

  private allowed(env: Env, id: string): ValueSet {
    return env.get(id) ?? this.registry.baseSet(id);
  }

  private search(pending: Formula[], env: Env): Env | null {
    const ors: Formula[][] = [];
    const queue = [...pending];
    for (;;) {
      // 1. Absorb everything that does not branch.
      while (queue.length > 0) {
        const f = queue.pop()!;
        switch (f.t) {
          case 'const':
            if (!f.value) return null;
            break;
          case 'atom': {
            const sets = this.registry.sets(f.v);
            const narrowed = sets.intersect(this.allowed(env, f.v), f.set);
            if (sets.isEmpty(narrowed)) return null;
            env.set(f.v, narrowed);
            break;
          }
          case 'and':
            queue.push(...f.fs);
            break;
          case 'or':
            ors.push(f.fs);
            break;
        }
      }
      // 2. Simplify the disjunctions under what is now known.
      let smallest = -1;
      for (let i = 0; i < ors.length; i++) {
        const kept = this.simplifyDisjunction(ors[i]!, env);
        if (kept === 'satisfied') {
          ors.splice(i--, 1);
          continue;
        }
        if (kept.length === 0) return null;
        if (kept.length === 1) {
          queue.push(kept[0]!);
          ors.splice(i--, 1);
          continue;
        }
        ors[i] = kept;
        if (smallest < 0 || kept.length < ors[smallest]!.length) smallest = i;
      }
      if (queue.length > 0) continue;
      if (ors.length === 0) return env;
      // 3. Branch on the smallest disjunction.
      const [choice] = ors.splice(smallest, 1);
      const rest: Formula[] = ors.map((fs) => ({ t: 'or', fs }));
      for (const d of choice!) {
        const found = this.search([d, ...rest], new Map(env));
        if (found) return found;
      }
      return null;
    }
  }

  private simplifyDisjunction(fs: Formula[], env: Env): Formula[] | 'satisfied' {
    const kept: Formula[] = [];
    for (const f of fs) {
      if (f.t === 'const') {
        if (f.value) return 'satisfied';
        continue;
      }
      if (f.t === 'atom') {
        const sets = this.registry.sets(f.v);
        const current = this.allowed(env, f.v);
        if (sets.subset(current, f.set)) return 'satisfied';
        if (sets.isEmpty(sets.intersect(current, f.set))) continue;
      }
      kept.push(f);
    }
    return kept;
  }
}
