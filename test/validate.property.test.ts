/**
 * Validation judged against brute force: random designs of one relation (random horizontal
 * predicates × random column subsets) are validated statically, then every row of a pool that has
 * a representative of each region of the domains is checked. A design judged complete / disjoint
 * must be so on every row, a design judged incomplete / overlapping must have a row that shows it,
 * and every implied constant and every witness must be right.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Catalog } from '../src/catalog/types.js';
import { parseDesign } from '../src/design/load.js';
import { resolveDesign } from '../src/design/resolve.js';
import { type Key, type Row, domainOf, evaluate } from '../src/predicate/index.js';
import { validateRelation } from '../src/validate/static.js';
import { T, relation } from './helpers.js';

const rel = relation(
  'r',
  [
    ['id', T.int, false],
    ['a', T.int, true],
    ['b', T.text, false],
    ['d', T.bool, true],
  ],
  ['id'],
  { checks: [{ name: 'r_b', expression: "b IN ('x', 'y', 'z')" }] },
);
const catalog: Catalog = { relations: [rel] };

const POOL: Record<string, Array<Key | null>> = {
  id: [1n],
  // constants run from -2 to 6 (BETWEEN lo AND lo + 3): one value beyond each end
  a: [null, -4n, -3n, -2n, -1n, 0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n],
  b: ['x', 'y', 'z'],
  d: [null, 0n, 1n],
};

const intConst = fc.integer({ min: -2, max: 3 }).map(String);
const atom = fc.oneof(
  fc.tuple(fc.constantFrom('=', '<>', '<', '<=', '>', '>='), intConst).map(([op, v]) => `a ${op} ${v}`),
  fc.tuple(fc.integer({ min: -2, max: 3 }), fc.integer({ min: 0, max: 3 })).map(([lo, w]) => `a BETWEEN ${lo} AND ${lo + w}`),
  fc.constantFrom(
    "b = 'x'",
    "b = 'y'",
    "b IN ('y', 'z')",
    "b <> 'z'",
    "b NOT IN ('x')",
    'd',
    'NOT d',
    'd IS NULL',
    'a IS NULL',
    'a IS NOT NULL',
  ),
);
const predicate: fc.Arbitrary<string> = fc.letrec<{ p: string }>((tie) => ({
  p: fc.oneof(
    { depthSize: 'small' },
    atom,
    fc.tuple(tie('p'), tie('p')).map(([x, y]) => `(${x}) AND (${y})`),
    fc.tuple(tie('p'), tie('p')).map(([x, y]) => `(${x}) OR (${y})`),
    tie('p').map((x) => `NOT (${x})`),
  ),
})).p;
const fragment = fc.record({
  where: fc.option(predicate, { nil: undefined }),
  columns: fc.subarray(['a', 'b', 'd'], { minLength: 0 }),
});

function* rows(): Generator<Row> {
  for (const a of POOL.a!)
    for (const b of POOL.b!)
      for (const d of POOL.d!)
        yield new Map<string, Key | null>([
          ['id', 1n],
          ['a', a],
          ['b', b],
          ['d', d],
        ]);
}

function keyOf(column: string, json: unknown): Key | null {
  if (json === null) return null;
  const type = rel.columns.find((c) => c.name === column)!.type;
  const lit =
    typeof json === 'string'
      ? { kind: 'string' as const, text: json }
      : typeof json === 'boolean'
        ? { kind: 'boolean' as const, value: json }
        : { kind: 'number' as const, text: String(json) };
  return domainOf(type).fromLiteral(lit).key;
}

describe('validation agrees with brute force on every row', () => {
  it('judges completeness, disjointness and implied constants correctly', () => {
    fc.assert(
      fc.property(fc.array(fragment, { minLength: 1, maxLength: 4 }), (specs) => {
        const yaml = JSON.stringify({
          name: 't',
          source: './t.sql',
          sites: { S1: { engine: 'sqlite', url: 'memory:' } },
          fragments: specs.map((s, i) => ({
            name: `F${i}`,
            of: 'r',
            ...(s.where ? { where: s.where } : {}),
            columns: ['id', ...s.columns],
            sites: ['S1'],
          })),
        });
        const resolved = resolveDesign(parseDesign(yaml, '/tmp/t/design.json'), catalog);
        const rr = resolved.relations[0]!;
        const report = validateRelation(rr);
        const implied = new Map(report.fragments.map((f) => [f.name, f.implied]));
        const provides = (name: string, column: string, stored: string[]) =>
          stored.includes(column) || column in implied.get(name)!;

        let incomplete = false;
        let overlapping = false;
        for (const row of rows()) {
          const members = rr.fragments.filter((f) => evaluate(f.membership, row) === true);
          for (const f of members) {
            for (const [column, value] of Object.entries(implied.get(f.name)!)) {
              expect(row.get(column), `${f.name} implies ${column} = ${String(value)}`).toEqual(keyOf(column, value));
            }
          }
          for (const column of ['id', 'a', 'b', 'd']) {
            const holders = members.filter((f) => provides(f.name, column, f.columns));
            if (holders.length === 0) incomplete = true;
            if (column !== 'id' && members.filter((f) => f.columns.includes(column)).length >= 2) overlapping = true;
          }
        }
        const failed = (rule: string) => report.checks.some((c) => c.rule === rule && !c.ok && c.severity === 'error');
        expect(failed('completeness'), 'completeness verdict').toBe(incomplete);
        expect(failed('disjointness'), 'disjointness verdict').toBe(overlapping);

        for (const c of report.checks.filter((x) => !x.ok && x.counterexample)) {
          const row = new Map<string, Key | null>([
            ['id', 1n],
            ['a', null],
            ['b', 'x'],
            ['d', null],
          ]);
          for (const [k, v] of Object.entries(c.counterexample!)) row.set(k, keyOf(k, v));
          if (c.rule === 'disjointness') {
            for (const name of c.fragments!)
              expect(evaluate(rr.fragments.find((f) => f.name === name)!.membership, row)).toBe(true);
          } else if (c.columns === undefined) {
            for (const f of rr.fragments) expect(evaluate(f.membership, row)).not.toBe(true);
          } else {
            for (const column of c.columns) {
              const stored = rr.fragments.filter(
                (f) => evaluate(f.membership, row) === true && provides(f.name, column, f.columns),
              );
              expect(stored, `witness for missing ${column}`).toEqual([]);
            }
          }
        }
      }),
      { numRuns: 250 },
    );
  });
});
