/**
 * The solver checked against brute force: on small domains every row that matters can be
 * enumerated (each region between the constants has a representative), so "no row exists" can be
 * verified exhaustively, and every witness the solver gives must really satisfy the goals.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Goal,
  type Key,
  type Predicate,
  type Row,
  type Truth,
  Universe,
  evaluate,
  parsePredicate,
} from '../src/predicate/index.js';
import { T, scopeOf, variable } from './helpers.js';

const a = variable('a', T.int);
const b = variable('b', T.text);
const c = variable('c', { family: 'decimal', sqlType: 'numeric(4,1)', precision: 4, scale: 1 });
const d = variable('d', T.bool);
const e = variable('e', T.int, false); // NOT NULL
const scope = scopeOf([a, b, c, d, e]);

// Every region of each domain relative to the constants used below has a representative here.
const POOL: Record<string, Array<Key | null>> = {
  a: [null, -4n, -3n, -2n, -1n, 0n, 1n, 2n, 3n, 4n, 5n],
  b: [null, '', 'A', 'a', 'aa', 'ab', 'abc', 'b', 'ba', 'c'],
  c: [null, -11n, -10n, -9n, 4n, 5n, 6n, 9n, 10n, 11n, 12n, 13n], // tenths: numeric(4,1)
  d: [null, 0n, 1n],
  e: [-3n, -2n, -1n, 0n, 1n, 2n, 3n, 4n],
};

const intConst = fc.integer({ min: -2, max: 3 }).map(String);
const textConst = fc.constantFrom("'a'", "'b'", "'ab'", "''");
const decConst = fc.constantFrom('0.5', '1', '1.25', '1.2', '-1');
const cmpOp = fc.constantFrom('=', '<>', '<', '<=', '>', '>=');

const atom: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.constantFrom('a', 'e'), cmpOp, intConst).map(([col, op, v]) => `${col} ${op} ${v}`),
  fc.tuple(cmpOp, textConst).map(([op, v]) => `b ${op} ${v}`),
  fc.tuple(cmpOp, decConst).map(([op, v]) => `c ${op} ${v}`),
  fc.tuple(fc.boolean(), intConst, intConst).map(([neg, lo, hi]) => `a ${neg ? 'NOT ' : ''}BETWEEN ${lo} AND ${hi}`),
  fc.tuple(fc.boolean(), decConst, decConst).map(([neg, lo, hi]) => `c ${neg ? 'NOT ' : ''}BETWEEN ${lo} AND ${hi}`),
  fc
    .tuple(fc.boolean(), fc.array(intConst, { minLength: 1, maxLength: 3 }), fc.boolean())
    .map(([neg, vs, withNull]) => `a ${neg ? 'NOT IN' : 'IN'} (${[...vs, ...(withNull ? ['NULL'] : [])].join(', ')})`),
  fc
    .tuple(fc.boolean(), fc.array(textConst, { minLength: 1, maxLength: 3 }))
    .map(([neg, vs]) => `b ${neg ? 'NOT IN' : 'IN'} (${vs.join(', ')})`),
  fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.boolean()).map(([col, neg]) => `${col} IS ${neg ? 'NOT ' : ''}NULL`),
  fc.constantFrom('d', 'NOT d', 'd = TRUE', 'd <> FALSE', 'a = NULL', 'TRUE', 'FALSE', 'NULL'),
);

const predicateSql: fc.Arbitrary<string> = fc.letrec<{ p: string }>((tie) => ({
  p: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    atom,
    fc.tuple(tie('p'), tie('p')).map(([x, y]) => `(${x}) AND (${y})`),
    fc.tuple(tie('p'), tie('p')).map(([x, y]) => `(${x}) OR (${y})`),
    tie('p').map((x) => `NOT (${x})`),
    fc
      .tuple(tie('p'), fc.constantFrom('IS TRUE', 'IS NOT TRUE', 'IS FALSE', 'IS NOT FALSE', 'IS NULL'))
      .map(([x, t]) => `(${x}) ${t}`),
  ),
})).p;

const truth = fc.constantFrom<Truth>('true', 'false', 'unknown', 'notTrue', 'notFalse');

function holds(t: Truth, v: boolean | null): boolean {
  switch (t) {
    case 'true':
      return v === true;
    case 'false':
      return v === false;
    case 'unknown':
      return v === null;
    case 'notTrue':
      return v !== true;
    case 'notFalse':
      return v !== false;
  }
}

function* allRows(): Generator<Row> {
  for (const va of POOL.a!)
    for (const vb of POOL.b!)
      for (const vc of POOL.c!)
        for (const vd of POOL.d!)
          for (const ve of POOL.e!)
            yield new Map<string, Key | null>([
              ['a', va],
              ['b', vb],
              ['c', vc],
              ['d', vd],
              ['e', ve],
            ]);
}

function bruteForce(goals: Goal[], constraints: Predicate[]): Row | undefined {
  for (const row of allRows()) {
    if (constraints.some((k) => evaluate(k, row) === false)) continue;
    if (goals.every((g) => holds(g.is, evaluate(g.predicate, row)))) return row;
  }
  return undefined;
}

/** A witness row completed with NULL (or the first pool value for NOT NULL columns) where unconstrained. */
function rowOf(witness: Map<string, Key | null>): Row {
  const row = new Map<string, Key | null>();
  for (const [id, pool] of Object.entries(POOL)) row.set(id, witness.has(id) ? witness.get(id)! : pool[0]!);
  return row;
}

describe('predicate reasoning agrees with brute force', () => {
  it('finds a row exactly when one exists, and its witness is a witness', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(predicateSql, truth), { minLength: 1, maxLength: 4 }),
        fc.option(predicateSql, { nil: undefined }),
        (goalSpecs, checkSql) => {
          const goals: Goal[] = goalSpecs.map(([sql, is]) => ({ predicate: parsePredicate(sql, scope), is }));
          const constraints = checkSql ? [parsePredicate(checkSql, scope)] : [];
          const universe = new Universe(constraints);
          const witness = universe.findRow(goals, { show: [a, b, c, d, e] });
          const expected = bruteForce(goals, constraints);
          if (witness === null) {
            expect(
              expected,
              `solver found no row but ${JSON.stringify([...(expected ?? [])], (_, v) => (typeof v === 'bigint' ? String(v) : v))} is one`,
            ).toBeUndefined();
          } else {
            const row = rowOf(new Map([...witness.values].map(([id, { key }]) => [id, key])));
            for (const g of goals) expect(holds(g.is, evaluate(g.predicate, row))).toBe(true);
            for (const k of constraints) expect(evaluate(k, row)).not.toBe(false);
            // The solver may pick values outside the pool (e.g. a = 1000); brute force then has a twin in its region.
            expect(expected).toBeDefined();
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('decides implication and equivalence like brute force', () => {
    fc.assert(
      fc.property(predicateSql, predicateSql, (ps, qs) => {
        const p = parsePredicate(ps, scope);
        const q = parsePredicate(qs, scope);
        const u = new Universe();
        const counter = bruteForce(
          [
            { predicate: p, is: 'true' },
            { predicate: q, is: 'notTrue' },
          ],
          [],
        );
        expect(u.implies(p, q)).toBe(counter === undefined);
        const back = bruteForce(
          [
            { predicate: q, is: 'true' },
            { predicate: p, is: 'notTrue' },
          ],
          [],
        );
        expect(u.equivalent(p, q)).toBe(counter === undefined && back === undefined);
      }),
      { numRuns: 300 },
    );
  });
});
