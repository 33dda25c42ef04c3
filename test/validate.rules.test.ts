/**
 * The three correctness rules (reconstruction, completeness, disjointness) on small hand-built
 * catalogs, each in its true and its false case, and the paper's Table VII on the real library
 * source. Every counterexample is checked: the fragment memberships are evaluated on it, and it
 * must be a row the schema allows (NOT NULL, CHECK constraints).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog, CheckConstraint, ForeignKey, Relation } from '../src/catalog/types.js';
import { loadDesign, parseDesign } from '../src/design/load.js';
import { type ResolvedDesign, type ResolvedRelation, resolveDesign } from '../src/design/resolve.js';
import { type SourceDatabase, openSource } from '../src/engines/source.js';
import {
  type JsonValue,
  type Key,
  type Row,
  type Truth3,
  type Variable,
  domainOf,
  evaluate,
  variablesOf,
} from '../src/predicate/index.js';
import type { Check, RelationReport, ValidationReport } from '../src/validate/report.js';
import { validateDesign, validateRelation } from '../src/validate/static.js';
import { T, relation } from './helpers.js';
import { type Tuple, rebuilds } from './support/algebra.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const libraryDir = path.join(root, 'examples/library');

// ── Building designs and reading reports ──────────────────────────────────────────────

const check = (name: string, expression: string): CheckConstraint => ({ name, expression });
const fk = (name: string, columns: string[], relation: string, references: string[]): ForeignKey => ({
  name,
  columns,
  references: { relation, columns: references },
});

/** A design with three sites A, B, C and the given `fragments:` list (YAML, indented by two). */
function design(fragments: string, catalog: Catalog): ResolvedDesign {
  const text = [
    'name: rules-test',
    'source: ./source.sql',
    'sites:',
    '  A: { engine: sqlite, url: "memory:" }',
    '  B: { engine: duckdb, url: "memory:" }',
    '  C: { engine: pglite, url: "memory:" }',
    'fragments:',
    fragments.replace(/^\n/, ''),
  ].join('\n');
  return resolveDesign(parseDesign(text, '/tmp/x/design.yaml'), catalog);
}

interface Validated {
  resolved: ResolvedDesign;
  report: ValidationReport;
  /** The report and the resolved relation of one relation. */
  of(name: string): { rep: RelationReport; rr: ResolvedRelation };
}

function validate(fragments: string, ...relations: Relation[]): Validated {
  const resolved = design(fragments, { relations });
  const report = validateDesign(resolved);
  verifyCounterexamples(report, resolved);
  return {
    resolved,
    report,
    of(name) {
      const rep = report.relations.find((r) => r.relation === name);
      const rr = resolved.relations.find((r) => r.relation.name === name);
      if (!rep || !rr) throw new Error(`no relation ${name} in the report`);
      return { rep, rr };
    },
  };
}

const failing = (r: RelationReport) => r.checks.filter((c) => !c.ok);
const failingIn = (report: ValidationReport) =>
  report.relations.flatMap((r) => failing(r).map((c) => ({ relation: r.relation, ...c })));
/** The essentials of a check, for exact comparisons (undefined keys dropped). */
const essence = (c: Check) =>
  JSON.parse(
    JSON.stringify({ rule: c.rule, ok: c.ok, severity: c.severity, site: c.site, fragments: c.fragments, columns: c.columns }),
  ) as Record<string, unknown>;
const only = (r: RelationReport, rule: Check['rule']) => r.checks.filter((c) => c.rule === rule);

/** A witness (JSON) turned back into a row of keys over the variables the predicates use. */
function rowOf(rr: ResolvedRelation, witness: Record<string, JsonValue>): { row: Row; variables: Map<string, Variable> } {
  const variables = new Map<string, Variable>();
  for (const f of rr.fragments) variablesOf(f.membership, variables);
  for (const c of rr.constraints) variablesOf(c, variables);
  for (const v of rr.variables.values()) variables.set(v.id, v);
  const row = new Map<string, Key | null>();
  for (const v of variables.values()) {
    if (!(v.name in witness)) continue;
    const value = witness[v.name]!;
    if (value === null) {
      row.set(v.id, null);
      continue;
    }
    const domain = domainOf(v.type);
    const lit =
      typeof value === 'number'
        ? ({ kind: 'number', text: String(value) } as const)
        : typeof value === 'boolean'
          ? ({ kind: 'boolean', value } as const)
          : ({ kind: 'string', text: value } as const);
    const { key, exact } = domain.fromLiteral(lit);
    expect(exact, `witness value ${v.name} = ${JSON.stringify(value)} is a value of ${v.type.sqlType}`).toBe(true);
    row.set(v.id, key);
  }
  return { row, variables };
}

/** Whether the witness row is in fragment `name` (TRUE membership); every variable it needs must be in the witness. */
function membership(rr: ResolvedRelation, name: string, witness: Record<string, JsonValue>): Truth3 {
  const f = rr.fragments.find((x) => x.name === name);
  if (!f) throw new Error(`no fragment ${name}`);
  const { row } = rowOf(rr, witness);
  // A witness whose foreign key is NULL has no parent, so it omits the parent's (lifted) columns.
  const orphan = f.parent?.foreignKey.columns.some((c) => row.get(c.toLowerCase()) === null) ?? false;
  for (const v of variablesOf(f.membership).values()) {
    if (row.has(v.id)) continue;
    if (orphan && v.id.includes(".")) (row as Map<string, unknown>).set(v.id, null);
    else throw new Error(`witness ${JSON.stringify(witness)} does not give ${v.name}, needed by ${name}`);
  }
  return evaluate(f.membership, row);
}

/** The witness is a row the schema allows: no NOT NULL column is NULL, no CHECK is FALSE. */
function expectAllowedRow(rr: ResolvedRelation, witness: Record<string, JsonValue>): void {
  const { row } = rowOf(rr, witness);
  for (const column of rr.relation.columns) {
    if (!column.nullable && column.name in witness) expect(witness[column.name], `${column.name} is NOT NULL`).not.toBeNull();
  }
  for (const c of rr.constraints) {
    const vars = [...variablesOf(c).values()];
    if (vars.every((v) => row.has(v.id))) expect(evaluate(c, row), 'a CHECK constraint is FALSE on the witness').not.toBe(false);
  }
}

/**
 * Every counterexample of a report really shows what its check claims:
 * - a row in no fragment is TRUE in no fragment's membership;
 * - a row lacking columns is in the slice the check is about, and no fragment storing (or
 *   fixing) one of those columns holds it;
 * - a row stored twice is TRUE in both fragments;
 * and it is a row the schema allows.
 */
function verifyCounterexamples(report: ValidationReport, resolved: ResolvedDesign): void {
  for (const rep of report.relations) {
    const rr = resolved.relations.find((r) => r.relation.name === rep.relation)!;
    const provides = (name: string) => {
      const summary = rep.fragments.find((f) => f.name === name)!;
      return new Set([...summary.columns, ...Object.keys(summary.implied)]);
    };
    for (const c of rep.checks) {
      if (c.ok || !c.counterexample) continue;
      const w = c.counterexample;
      expectAllowedRow(rr, w);
      if (c.rule === 'disjointness') {
        for (const f of c.fragments!) expect(membership(rr, f, w), `${f} holds ${JSON.stringify(w)}`).toBe(true);
      } else if (c.rule === 'completeness' && c.columns) {
        expect(membership(rr, c.fragments![0]!, w), `${JSON.stringify(w)} is in the slice of ${c.fragments![0]}`).toBe(true);
        for (const column of c.columns) {
          for (const f of rr.fragments.filter((x) => provides(x.name).has(column))) {
            expect(membership(rr, f.name, w), `${f.name} provides ${column} for ${JSON.stringify(w)}`).not.toBe(true);
          }
        }
      } else if (c.rule === 'completeness') {
        for (const f of rr.fragments) expect(membership(rr, f.name, w), `${f.name} holds ${JSON.stringify(w)}`).not.toBe(true);
      }
    }
  }
}

// ── Relations used below ──────────────────────────────────────────────────────────────

const customer = (opts: { check?: string; regionNullable?: boolean } = {}) =>
  relation(
    'customer',
    [
      ['id', T.int],
      ['name', T.text, false],
      ['region', T.text, opts.regionNullable ?? false],
    ],
    ['id'],
    opts.check ? { checks: [check('customer_region_check', opts.check)] } : {},
  );
const num = (nullable: boolean) =>
  relation(
    'num',
    [
      ['id', T.int],
      ['x', T.int, nullable],
    ],
    ['id'],
  );
const product = relation(
  'product',
  [
    ['id', T.int],
    ['name', T.text, false],
    ['price', T.money],
    ['stock', T.int, false],
  ],
  ['id'],
);

describe('horizontal fragmentation', () => {
  it('two regions without a CHECK leave every other region out: incomplete, with a witness in no fragment', () => {
    const v = validate(
      `
  - { name: C_N, of: customer, where: "region = 'N'", sites: [A] }
  - { name: C_S, of: customer, where: "region = 'S'", sites: [B] }`,
      customer(),
    );
    const { rep, rr } = v.of('customer');
    expect(v.report.valid).toBe(false);
    expect(v.report.errors).toBe(1);
    expect(rep.reconstruction).toBe('customer = C_N ∪ C_S');
    expect(failing(rep).map(essence)).toEqual([
      { rule: 'completeness', ok: false, severity: 'error', fragments: ['C_N', 'C_S'] },
    ]);
    const witness = failing(rep)[0]!.counterexample!;
    expect(witness).toEqual({ region: expect.any(String) });
    expect(['N', 'S']).not.toContain(witness.region);
    expect(membership(rr, 'C_N', witness)).toBe(false);
    expect(membership(rr, 'C_S', witness)).toBe(false);
    expectAllowedRow(rr, witness);
    // Disjointness holds, and reconstruction (the key is everywhere) too.
    expect(only(rep, 'disjointness').map(essence)).toEqual([{ rule: 'disjointness', ok: true, severity: 'error' }]);
    expect(only(rep, 'reconstruction').every((c) => c.ok)).toBe(true);
  });

  it('the same regions with CHECK (region IN (...)) are complete; the dropped region is restored as a constant', () => {
    const v = validate(
      `
  - { name: C_N, of: customer, where: "region = 'N'", columns: [id, name], sites: [A] }
  - { name: C_S, of: customer, where: "region = 'S'", columns: [id, name], sites: [B] }`,
      customer({ check: "region IN ('N', 'S')" }),
    );
    const { rep } = v.of('customer');
    expect(v.report.valid).toBe(true);
    expect(failing(rep)).toEqual([]);
    expect(rep.reconstruction).toBe("customer = (C_N × {region = 'N'}) ∪ (C_S × {region = 'S'})");
    expect(rep.fragments.map((f) => [f.name, f.implied])).toEqual([
      ['C_N', { region: 'N' }],
      ['C_S', { region: 'S' }],
    ]);
    expect(rep.checks.map(essence)).toEqual([
      { rule: 'reconstruction', ok: true, severity: 'error', site: 'A', fragments: ['C_N'] },
      { rule: 'reconstruction', ok: true, severity: 'error', site: 'B', fragments: ['C_S'] },
      { rule: 'reconstruction', ok: true, severity: 'error' },
      { rule: 'completeness', ok: true, severity: 'error' },
      { rule: 'completeness', ok: true, severity: 'error', site: 'A', fragments: ['C_N'] },
      { rule: 'completeness', ok: true, severity: 'error', site: 'B', fragments: ['C_S'] },
      { rule: 'disjointness', ok: true, severity: 'error' },
    ]);
  });

  it('a CHECK IN list with a value no fragment selects: the witness is exactly that value', () => {
    const v = validate(
      `
  - { name: C_N, of: customer, where: "region = 'N'", sites: [A] }
  - { name: C_S, of: customer, where: "region IN ('S')", sites: [B] }`,
      customer({ check: "region IN ('N', 'S', 'W')" }),
    );
    const { rep, rr } = v.of('customer');
    expect(failing(rep).map(essence)).toEqual([
      { rule: 'completeness', ok: false, severity: 'error', fragments: ['C_N', 'C_S'] },
    ]);
    expect(failing(rep)[0]!.counterexample).toEqual({ region: 'W' });
    expect(failing(rep)[0]!.message).toContain("region = 'W'");
    expectAllowedRow(rr, { region: 'W' });
  });

  it('x < 10 / x >= 10 on a nullable integer miss only NULL: witness {x: null}', () => {
    const v = validate(
      `
  - { name: LOW, of: num, where: "x < 10", sites: [A] }
  - { name: HIGH, of: num, where: "x >= 10", sites: [B] }`,
      num(true),
    );
    const { rep, rr } = v.of('num');
    expect(v.report.valid).toBe(false);
    expect(failing(rep).map(essence)).toEqual([
      { rule: 'completeness', ok: false, severity: 'error', fragments: ['LOW', 'HIGH'] },
    ]);
    const witness = failing(rep)[0]!.counterexample!;
    expect(witness).toEqual({ x: null });
    expect(membership(rr, 'LOW', witness)).toBeNull();
    expect(membership(rr, 'HIGH', witness)).toBeNull();
    expect(only(rep, 'disjointness').map(essence)).toEqual([{ rule: 'disjointness', ok: true, severity: 'error' }]);
  });

  it('x < 10 / x >= 10 on a NOT NULL integer are complete and disjoint', () => {
    const v = validate(
      `
  - { name: LOW, of: num, where: "x < 10", sites: [A] }
  - { name: HIGH, of: num, where: "x >= 10", sites: [B] }`,
      num(false),
    );
    expect(v.report.valid).toBe(true);
    expect(failingIn(v.report)).toEqual([]);
    expect(v.of('num').rep.checks.filter((c) => c.rule === 'completeness').length).toBe(3);
  });

  it('x < 10 / x BETWEEN 10 AND 20 / x > 20 OR x IS NULL on a nullable integer are complete', () => {
    const v = validate(
      `
  - { name: LOW, of: num, where: "x < 10", sites: [A] }
  - { name: MID, of: num, where: "x BETWEEN 10 AND 20", sites: [B] }
  - { name: TOP, of: num, where: "x > 20 OR x IS NULL", sites: [C] }`,
      num(true),
    );
    expect(v.report.valid).toBe(true);
    expect(failingIn(v.report)).toEqual([]);
  });

  it("region <> 'N' and region = 'N' lose the rows whose region is NULL (three-valued logic)", () => {
    const v = validate(
      `
  - { name: C_N, of: customer, where: "region = 'N'", sites: [A] }
  - { name: C_OTHER, of: customer, where: "region <> 'N'", sites: [B] }`,
      customer({ regionNullable: true }),
    );
    const { rep, rr } = v.of('customer');
    expect(failing(rep).map(essence)).toEqual([
      { rule: 'completeness', ok: false, severity: 'error', fragments: ['C_N', 'C_OTHER'] },
    ]);
    expect(failing(rep)[0]!.counterexample).toEqual({ region: null });
    expect(membership(rr, 'C_OTHER', { region: null })).toBeNull();
  });

  it('a boolean column: active / NOT active is incomplete when nullable, complete when NOT NULL', () => {
    const account = (nullable: boolean) =>
      relation(
        'account',
        [
          ['id', T.int],
          ['active', T.bool, nullable],
        ],
        ['id'],
      );
    const fragments = `
  - { name: ON, of: account, where: "active", sites: [A] }
  - { name: OFF, of: account, where: "NOT active", sites: [B] }`;
    const nullable = validate(fragments, account(true));
    expect(failing(nullable.of('account').rep).map((c) => [c.rule, c.counterexample])).toEqual([
      ['completeness', { active: null }],
    ]);
    const notNull = validate(fragments, account(false));
    expect(notNull.report.valid).toBe(true);
    expect(failingIn(notNull.report)).toEqual([]);
  });

  it('overlapping ranges x < 10 / x >= 5: a disjointness error whose witness really is in both fragments', () => {
    const v = validate(
      `
  - { name: LOW, of: num, where: "x < 10", sites: [A] }
  - { name: HIGH, of: num, where: "x >= 5", sites: [B] }`,
      num(false),
    );
    const { rep, rr } = v.of('num');
    expect(v.report.valid).toBe(false);
    expect(failing(rep).map(essence)).toEqual([
      { rule: 'disjointness', ok: false, severity: 'error', fragments: ['LOW', 'HIGH'], columns: ['x'] },
    ]);
    const witness = failing(rep)[0]!.counterexample!;
    expect(typeof witness.x).toBe('number');
    expect(witness.x).toBeGreaterThanOrEqual(5);
    expect(witness.x).toBeLessThan(10);
    expect(membership(rr, 'LOW', witness)).toBe(true);
    expect(membership(rr, 'HIGH', witness)).toBe(true);
    expectAllowedRow(rr, witness);
    // Completeness holds: every integer is below 10 or at least 5.
    expect(only(rep, 'completeness').every((c) => c.ok)).toBe(true);
  });

  it('an overlap of two fragments on the same site is attributed to that site', () => {
    const v = validate(
      `
  - { name: LOW, of: num, where: "x <= 10", sites: [C] }
  - { name: HIGH, of: num, where: "x >= 10", sites: [C] }`,
      num(false),
    );
    const { rep, rr } = v.of('num');
    expect(failing(rep).map(essence)).toEqual([
      { rule: 'disjointness', ok: false, severity: 'error', site: 'C', fragments: ['LOW', 'HIGH'], columns: ['x'] },
    ]);
    expect(failing(rep)[0]!.counterexample).toEqual({ x: 10 });
    expect(membership(rr, 'LOW', { x: 10 })).toBe(true);
    expect(membership(rr, 'HIGH', { x: 10 })).toBe(true);
  });

  it('overlap: allowed turns the overlap into a warning and the design stays valid', () => {
    const v = validate(
      `
  - { name: LOW, of: num, where: "x < 10", sites: [A] }
  - { name: HIGH, of: num, where: "x >= 5", overlap: allowed, sites: [B] }`,
      num(false),
    );
    const { rep, rr } = v.of('num');
    expect(v.report.valid).toBe(true);
    expect(v.report.errors).toBe(0);
    expect(v.report.warnings).toBe(1);
    expect(failing(rep).map(essence)).toEqual([
      { rule: 'disjointness', ok: false, severity: 'warning', fragments: ['LOW', 'HIGH'], columns: ['x'] },
    ]);
    const c = failing(rep)[0]!;
    expect(c.message).toContain('overlap: allowed');
    expect(membership(rr, 'LOW', c.counterexample!)).toBe(true);
    expect(membership(rr, 'HIGH', c.counterexample!)).toBe(true);
  });

  it('numeric(10,2): price < 10 / price >= 9.995 are complete and disjoint (no numeric(10,2) value lies in [9.995, 10))', () => {
    const priced = relation(
      'priced',
      [
        ['id', T.int],
        ['price', T.money, false],
      ],
      ['id'],
    );
    const v = validate(
      `
  - { name: CHEAP, of: priced, where: "price < 10", sites: [A] }
  - { name: DEAR, of: priced, where: "price >= 9.995", sites: [B] }`,
      priced,
    );
    expect(failingIn(v.report)).toEqual([]);
  });

  it('double precision: price < 10 / price >= 9.995 overlap, with a witness in [9.995, 10)', () => {
    const priced = relation(
      'priced',
      [
        ['id', T.int],
        ['price', T.float, false],
      ],
      ['id'],
    );
    const v = validate(
      `
  - { name: CHEAP, of: priced, where: "price < 10", sites: [A] }
  - { name: DEAR, of: priced, where: "price >= 9.995", sites: [B] }`,
      priced,
    );
    const { rep, rr } = v.of('priced');
    expect(failing(rep).map(essence)).toEqual([
      { rule: 'disjointness', ok: false, severity: 'error', fragments: ['CHEAP', 'DEAR'], columns: ['price'] },
    ]);
    const witness = failing(rep)[0]!.counterexample!;
    expect(membership(rr, 'CHEAP', witness)).toBe(true);
    expect(membership(rr, 'DEAR', witness)).toBe(true);
  });

  it('date ranges that overlap by a month: the witness is an ISO date in both fragments', () => {
    const event = relation(
      'event',
      [
        ['id', T.int],
        ['day', T.date, false],
      ],
      ['id'],
    );
    const v = validate(
      `
  - { name: OLD, of: event, where: "day < '2024-01-01'", sites: [A] }
  - { name: NEW, of: event, where: "day >= '2023-12-01'", sites: [B] }`,
      event,
    );
    const { rep, rr } = v.of('event');
    expect(failing(rep).map(essence)).toEqual([
      { rule: 'disjointness', ok: false, severity: 'error', fragments: ['OLD', 'NEW'], columns: ['day'] },
    ]);
    const witness = failing(rep)[0]!.counterexample!;
    expect(witness.day).toMatch(/^2023-12-\d\d$/);
    expect(membership(rr, 'OLD', witness)).toBe(true);
    expect(membership(rr, 'NEW', witness)).toBe(true);
  });

  it('a relation whose columns are all key: the rows themselves are the cells that must not be stored twice', () => {
    const tag = relation(
      'tag',
      [
        ['a', T.int],
        ['b', T.text],
      ],
      ['a', 'b'],
    );
    const overlapping = validate(
      `
  - { name: T1, of: tag, where: "a < 10", sites: [A] }
  - { name: T2, of: tag, where: "a >= 5", sites: [B] }`,
      tag,
    );
    const { rep, rr } = overlapping.of('tag');
    expect(failing(rep).map(essence)).toEqual([
      { rule: 'disjointness', ok: false, severity: 'error', fragments: ['T1', 'T2'], columns: ['a', 'b'] },
    ]);
    expect(membership(rr, 'T1', failing(rep)[0]!.counterexample!)).toBe(true);
    expect(membership(rr, 'T2', failing(rep)[0]!.counterexample!)).toBe(true);

    const disjoint = validate(
      `
  - { name: T1, of: tag, where: "a < 10", sites: [A] }
  - { name: T2, of: tag, where: "a >= 10", sites: [B] }`,
      tag,
    );
    expect(failingIn(disjoint.report)).toEqual([]);
  });
});

describe('vertical fragmentation', () => {
  it('a column in no fragment: reconstruction fails with that column, and so does completeness', () => {
    const v = validate(
      `
  - { name: P_NAME, of: product, columns: [id, name], sites: [A] }
  - { name: P_PRICE, of: product, columns: [id, price], sites: [B] }`,
      product,
    );
    const { rep } = v.of('product');
    expect(v.report.valid).toBe(false);
    expect(rep.reconstruction).toBe('product = P_NAME ⋈ P_PRICE');
    expect(failing(rep).map(essence)).toEqual([
      { rule: 'reconstruction', ok: false, severity: 'error', columns: ['stock'] },
      { rule: 'completeness', ok: false, severity: 'error', fragments: ['P_NAME', 'P_PRICE'], columns: ['stock'] },
    ]);
    expect(failing(rep)[0]!.message).toMatch(/stock is in no fragment/);
  });

  it('all columns spread over key-carrying vertical fragments: reconstructible, complete, disjoint', () => {
    const v = validate(
      `
  - { name: P_CAT, of: product, columns: [id, name, price], sites: [A, B], replication: sync }
  - { name: P_STOCK, of: product, columns: [id, stock], sites: [C] }`,
      product,
    );
    const { rep } = v.of('product');
    expect(v.report.valid).toBe(true);
    expect(failing(rep)).toEqual([]);
    expect(rep.reconstruction).toBe('product = P_CAT ⋈ P_STOCK');
    // Sharing only the primary key is no overlap.
    expect(only(rep, 'disjointness').map(essence)).toEqual([{ rule: 'disjointness', ok: true, severity: 'error' }]);
    expect(rep.fragments.find((f) => f.name === 'P_CAT')).toMatchObject({ sites: ['A', 'B'], replication: 'sync' });
  });

  it('a fragment without the primary key cannot be joined back: reconstruction error at its site', () => {
    const v = validate(
      `
  - { name: P_MAIN, of: product, columns: [id, name, price], sites: [A] }
  - { name: P_STOCK, of: product, columns: [stock], sites: [B] }`,
      product,
    );
    const { rep } = v.of('product');
    expect(v.report.valid).toBe(false);
    expect(failing(rep).map(essence)).toEqual([
      { rule: 'reconstruction', ok: false, severity: 'error', site: 'B', fragments: ['P_STOCK'], columns: ['id'] },
    ]);
    expect(failing(rep)[0]!.message).toContain('lacks primary key column id');
  });

  it('two vertical fragments sharing a non-key column: disjointness error naming the column', () => {
    const v = validate(
      `
  - { name: P_CAT, of: product, columns: [id, name, price], sites: [A] }
  - { name: P_WH, of: product, columns: [id, price, stock], sites: [B] }`,
      product,
    );
    const { rep } = v.of('product');
    expect(failing(rep).map(essence)).toEqual([
      { rule: 'disjointness', ok: false, severity: 'error', fragments: ['P_CAT', 'P_WH'], columns: ['price'] },
    ]);
    // Any row will do: both fragments hold every row.
    expect(failing(rep)[0]!.counterexample).toEqual({});
  });

  it('a vertical fragment with a predicate leaves its column unstored for the other rows', () => {
    const v = validate(
      `
  - { name: P_MAIN, of: product, columns: [id, name, stock], sites: [A] }
  - { name: P_PRICED, of: product, where: "price > 0", columns: [id, price], sites: [B] }`,
      product,
    );
    const { rep, rr } = v.of('product');
    expect(v.report.valid).toBe(false);
    const bad = failing(rep);
    expect(bad.length).toBeGreaterThan(0);
    expect(bad.every((c) => c.rule === 'completeness' && c.severity === 'error')).toBe(true);
    const withColumns = bad.find((c) => c.columns);
    expect(withColumns?.columns).toEqual(['price']);
    const witness = withColumns!.counterexample!;
    expect(membership(rr, 'P_PRICED', witness)).not.toBe(true);
    expectAllowedRow(rr, witness);
  });
});

describe('hybrid fragmentation and implied constants', () => {
  const student = relation(
    'student',
    [
      ['nce', T.int],
      ['fname', T.text, false],
      ['lname', T.text, false],
      ['address', T.text],
      ['institution', T.text, false],
      ['class', T.text],
      ['nb_borrow', T.int, false],
    ],
    ['nce'],
    {
      checks: [
        check('student_institution_check', "institution IN ('ENIT', 'FST', 'FSEGT')"),
        check('student_nb_borrow_check', 'nb_borrow BETWEEN 0 AND 5'),
      ],
    },
  );

  it('the library STUDENT shape (a replicated vertical piece ⋈ per-school horizontal pieces) is valid', () => {
    const v = validate(
      `
  - { name: STUDENT_BIB, of: STUDENT, columns: [NCE, FName, LName, nb_borrow], sites: [A, B, C], replication: sync }
  - { name: STUDENT_ENIT, of: STUDENT, where: "Institution = 'ENIT'", columns: [NCE, Address, Class], sites: [A] }
  - { name: STUDENT_FST, of: STUDENT, where: "Institution = 'FST'", columns: [NCE, Address, Class], sites: [B] }
  - { name: STUDENT_FSEGT, of: STUDENT, where: "Institution = 'FSEGT'", columns: [NCE, Address, Class], sites: [C] }`,
      student,
    );
    const { rep } = v.of('student');
    expect(v.report.valid).toBe(true);
    expect(failing(rep)).toEqual([]);
    expect(rep.reconstruction).toBe(
      "student = STUDENT_BIB ⋈ ((STUDENT_ENIT × {institution = 'ENIT'}) ∪ (STUDENT_FST × {institution = 'FST'}) ∪ (STUDENT_FSEGT × {institution = 'FSEGT'}))",
    );
    // Columns are given as the designer typed them but reported as the source names them.
    expect(rep.fragments[0]!.columns).toEqual(['nce', 'fname', 'lname', 'nb_borrow']);
  });

  it("the paper's broken STUDENT (Table VII), on a hand-built catalog: class missing at B, nb_borrow twice at C", () => {
    const v = validate(
      `
  - { name: BIB_A, of: student, where: "institution = 'ENIT'", columns: [nce, fname, lname, nb_borrow], sites: [A] }
  - { name: ADMIN_A, of: student, where: "institution = 'ENIT'", columns: [nce, address, class], sites: [A] }
  - { name: BIB_B, of: student, where: "institution = 'FST'", columns: [nce, fname, lname, nb_borrow], sites: [B] }
  - { name: ADMIN_B, of: student, where: "institution = 'FST'", columns: [nce, address], sites: [B] }
  - { name: BIB_C, of: student, where: "institution = 'FSEGT'", columns: [nce, fname, lname, nb_borrow], sites: [C] }
  - { name: ADMIN_C, of: student, where: "institution = 'FSEGT'", columns: [nce, address, class, nb_borrow], sites: [C] }`,
      student,
    );
    const { rep, rr } = v.of('student');
    expect(failing(rep).map(essence)).toEqual([
      { rule: 'completeness', ok: false, severity: 'error', site: 'B', fragments: ['BIB_B', 'ADMIN_B'], columns: ['class'] },
      { rule: 'disjointness', ok: false, severity: 'error', site: 'C', fragments: ['BIB_C', 'ADMIN_C'], columns: ['nb_borrow'] },
    ]);
    const [incomplete, overlap] = failing(rep);
    expect(incomplete!.counterexample).toEqual({ institution: 'FST' });
    expect(membership(rr, 'ADMIN_B', incomplete!.counterexample!)).toBe(true);
    expect(membership(rr, 'ADMIN_A', incomplete!.counterexample!)).toBe(false);
    expect(membership(rr, 'ADMIN_C', incomplete!.counterexample!)).toBe(false);
    expect(membership(rr, 'BIB_C', overlap!.counterexample!)).toBe(true);
    expect(membership(rr, 'ADMIN_C', overlap!.counterexample!)).toBe(true);
  });

  it('a predicate that fixes a dropped column provides it (implied constant, × {…} in the reconstruction)', () => {
    const v = validate(
      `
  - { name: N5, of: num, where: "x = 5", columns: [id], sites: [A] }
  - { name: NOT5, of: num, where: "x <> 5", sites: [B] }`,
      num(false),
    );
    const { rep } = v.of('num');
    expect(v.report.valid).toBe(true);
    expect(failing(rep)).toEqual([]);
    expect(rep.reconstruction).toContain('× {');
    expect(rep.reconstruction).toBe('num = (N5 × {x = 5}) ∪ NOT5');
    expect(rep.fragments.find((f) => f.name === 'N5')!.implied).toEqual({ x: 5 });
    expect(rep.checks.find((c) => c.rule === 'reconstruction' && !c.fragments)!.ok).toBe(true);
  });

  it('x IS NULL fixes x to NULL: restored as × {x = NULL}', () => {
    const v = validate(
      `
  - { name: NONE, of: num, where: "x IS NULL", columns: [id], sites: [A] }
  - { name: SOME, of: num, where: "x IS NOT NULL", sites: [B] }`,
      num(true),
    );
    const { rep } = v.of('num');
    expect(failing(rep)).toEqual([]);
    expect(rep.reconstruction).toBe('num = (NONE × {x = NULL}) ∪ SOME');
    expect(rep.fragments[0]!.implied).toEqual({ x: null });
  });

  it('x > 3 does not fix x: dropping it leaves those rows incomplete at that site', () => {
    const v = validate(
      `
  - { name: BIG, of: num, where: "x > 3", columns: [id], sites: [A] }
  - { name: SMALL, of: num, where: "x <= 3", sites: [B] }`,
      num(false),
    );
    const { rep, rr } = v.of('num');
    expect(v.report.valid).toBe(false);
    expect(rep.fragments[0]!.implied).toEqual({});
    expect(rep.reconstruction).not.toContain('× {');
    expect(failing(rep).map(essence)).toEqual([
      { rule: 'completeness', ok: false, severity: 'error', site: 'A', fragments: ['BIG'], columns: ['x'] },
    ]);
    const witness = failing(rep)[0]!.counterexample!;
    expect(witness.x).toBeGreaterThan(3);
    expect(membership(rr, 'BIG', witness)).toBe(true);
    expect(membership(rr, 'SMALL', witness)).toBe(false);
  });

  it('when every fragment drops x and none fixes it, x is lost to the reconstruction', () => {
    const v = validate(
      `
  - { name: BIG, of: num, where: "x > 3", columns: [id], sites: [A] }
  - { name: SMALL, of: num, where: "x <= 3", columns: [id], sites: [B] }`,
      num(false),
    );
    const { rep } = v.of('num');
    expect(
      failing(rep)
        .filter((c) => c.rule === 'reconstruction')
        .map(essence),
    ).toEqual([{ rule: 'reconstruction', ok: false, severity: 'error', columns: ['x'] }]);
    expect(
      failing(rep)
        .filter((c) => c.rule === 'completeness')
        .map((c) => c.columns),
    ).toEqual([['x'], ['x']]);
  });
});

describe('derived fragmentation (follows)', () => {
  const parent = (withCheck: boolean) =>
    relation(
      'parent',
      [
        ['pid', T.int],
        ['region', T.text, false],
      ],
      ['pid'],
      withCheck ? { checks: [check('parent_region_check', "region IN ('N', 'S')")] } : {},
    );
  const child = (fkNullable: boolean) =>
    relation(
      'child',
      [
        ['cid', T.int],
        ['pid', T.int, fkNullable],
        ['v', T.text],
      ],
      ['cid'],
      { foreignKeys: [fk('child_pid_fkey', ['pid'], 'parent', ['pid'])] },
    );
  const grand = relation(
    'grand',
    [
      ['gid', T.int],
      ['cid', T.int, false],
    ],
    ['gid'],
    { foreignKeys: [fk('grand_cid_fkey', ['cid'], 'child', ['cid'])] },
  );
  const parents = `
  - { name: P_N, of: parent, where: "region = 'N'", sites: [A] }
  - { name: P_S, of: parent, where: "region = 'S'", sites: [B] }`;
  const children = `
  - { name: C_N, of: child, follows: P_N, sites: [A] }
  - { name: C_S, of: child, follows: P_S, sites: [B] }`;

  it('complete and disjoint when the parent fragments are and the foreign key is NOT NULL', () => {
    const v = validate(parents + children, parent(true), child(false));
    expect(v.report.valid).toBe(true);
    expect(failingIn(v.report)).toEqual([]);
    const { rep, rr } = v.of('child');
    expect(rep.reconstruction).toBe('child = C_N ∪ C_S');
    expect(rep.fragments.map((f) => f.definition)).toEqual(['child ⋉ P_N', 'child ⋉ P_S']);
    expect(rr.fragments[0]!.parent?.foreignKey.name).toBe('child_pid_fkey');
    expect(only(rep, 'disjointness').map(essence)).toEqual([{ rule: 'disjointness', ok: true, severity: 'error' }]);
  });

  it('a nullable foreign key loses the rows whose key is NULL: completeness error, counterexample pid = null', () => {
    const v = validate(parents + children, parent(true), child(true));
    expect(v.report.valid).toBe(false);
    expect(failingIn(v.report).map((c) => c.relation)).toEqual(['child']);
    const { rep, rr } = v.of('child');
    expect(failing(rep).map(essence)).toEqual([
      { rule: 'completeness', ok: false, severity: 'error', fragments: ['C_N', 'C_S'] },
    ]);
    const c = failing(rep)[0]!;
    expect(c.counterexample).toMatchObject({ pid: null });
    expect(c.message).toMatch(/nullable/);
    expect(membership(rr, 'C_N', c.counterexample!)).not.toBe(true);
    expect(membership(rr, 'C_S', c.counterexample!)).not.toBe(true);
  });

  it('derived from an incomplete parent fragmentation: the child is incomplete too', () => {
    const v = validate(parents + children, parent(false), child(false));
    expect(v.report.valid).toBe(false);
    expect(failingIn(v.report).map((c) => [c.relation, c.rule, c.severity])).toEqual([
      ['parent', 'completeness', 'error'],
      ['child', 'completeness', 'error'],
    ]);
    const { rep, rr } = v.of('child');
    const witness = failing(rep)[0]!.counterexample!;
    expect(witness.pid).not.toBeNull();
    expect(['N', 'S']).not.toContain(witness['parent.region']);
    expect(membership(rr, 'C_N', witness)).toBe(false);
    expect(membership(rr, 'C_S', witness)).toBe(false);
  });

  it('children following overlapping parent fragments overlap too', () => {
    const v = validate(
      `
  - { name: P_ALL, of: parent, sites: [A] }
  - { name: P_S, of: parent, where: "region = 'S'", columns: [pid], sites: [B] }
  - { name: C_ALL, of: child, follows: P_ALL, sites: [A] }
  - { name: C_S, of: child, follows: P_S, sites: [B] }`,
      parent(true),
      child(false),
    );
    expect(failing(v.of('parent').rep)).toEqual([]);
    const { rep, rr } = v.of('child');
    expect(failing(rep).map(essence)).toEqual([
      { rule: 'disjointness', ok: false, severity: 'error', fragments: ['C_ALL', 'C_S'], columns: ['pid', 'v'] },
    ]);
    const witness = failing(rep)[0]!.counterexample!;
    expect(witness['parent.region']).toBe('S');
    expect(membership(rr, 'C_ALL', witness)).toBe(true);
    expect(membership(rr, 'C_S', witness)).toBe(true);
  });

  it('two levels: the grandchild follows the child that follows the parent — complete', () => {
    const v = validate(
      parents +
        children +
        `
  - { name: G_N, of: grand, follows: C_N, sites: [A] }
  - { name: G_S, of: grand, follows: C_S, sites: [B] }`,
      parent(true),
      child(false),
      grand,
    );
    expect(v.report.valid).toBe(true);
    expect(failingIn(v.report)).toEqual([]);
    expect(v.of('grand').rep.reconstruction).toBe('grand = G_N ∪ G_S');
    // G_N's membership reaches the parent's region through two foreign keys.
    const g = v.of('grand').rr.fragments[0]!;
    expect([...variablesOf(g.membership).values()].map((x) => x.name).sort()).toEqual(
      ['child.parent.region', 'cid', 'child.pid'].sort(),
    );
  });

  it('two levels with a branch missing: the grandchild is incomplete, with a witness in no fragment', () => {
    const v = validate(
      parents +
        children +
        `
  - { name: G_N, of: grand, follows: C_N, sites: [A] }`,
      parent(true),
      child(false),
      grand,
    );
    expect(failingIn(v.report).map((c) => [c.relation, c.rule])).toEqual([['grand', 'completeness']]);
    const { rep, rr } = v.of('grand');
    const witness = failing(rep)[0]!.counterexample!;
    expect(witness['child.parent.region']).toBe('S');
    expect(membership(rr, 'G_N', witness)).toBe(false);
    expectAllowedRow(rr, witness);
  });
});

describe('the printed reconstruction expression rebuilds a sample instance', () => {
  const cases: Array<[string, Relation, string, Tuple[]]> = [
    [
      'horizontal, with the dropped column restored as a constant',
      customer({ check: "region IN ('N', 'S')" }),
      `
  - { name: C_N, of: customer, where: "region = 'N'", columns: [id, name], sites: [A] }
  - { name: C_S, of: customer, where: "region = 'S'", columns: [id, name], sites: [B] }`,
      [
        { id: 1, name: 'Amina', region: 'N' },
        { id: 2, name: 'Baraka', region: 'S' },
        { id: 3, name: 'Chege', region: 'N' },
      ],
    ],
    [
      'vertical, joined on the key',
      product,
      `
  - { name: P_CAT, of: product, columns: [id, name, price], sites: [A, B] }
  - { name: P_STOCK, of: product, columns: [id, stock], sites: [C] }`,
      [
        { id: 1, name: 'kettle', price: 12.5, stock: 3 },
        { id: 2, name: 'lamp', price: null, stock: 0 },
      ],
    ],
    [
      'a fixed value and the rest',
      num(false),
      `
  - { name: N5, of: num, where: "x = 5", columns: [id], sites: [A] }
  - { name: NOT5, of: num, where: "x <> 5", sites: [B] }`,
      [
        { id: 1, x: 5 },
        { id: 2, x: 7 },
        { id: 3, x: 5 },
      ],
    ],
    [
      'an implied NULL',
      num(true),
      `
  - { name: NONE, of: num, where: "x IS NULL", columns: [id], sites: [A] }
  - { name: SOME, of: num, where: "x IS NOT NULL", sites: [B] }`,
      [
        { id: 1, x: null },
        { id: 2, x: 7 },
      ],
    ],
    [
      'hybrid: a vertical piece for all rows ⋈ horizontal pieces for the rest of the columns',
      relation(
        'h',
        [
          ['id', T.int],
          ['a', T.text],
          ['b', T.text],
          ['x', T.int, false],
        ],
        ['id'],
      ),
      `
  - { name: ALL, of: h, columns: [id, a, x], sites: [A] }
  - { name: POS, of: h, where: "x > 0", columns: [id, b], sites: [B] }
  - { name: NEG, of: h, where: "x <= 0", columns: [id, b], sites: [C] }`,
      [
        { id: 1, a: 'p', b: 'q', x: 4 },
        { id: 2, a: null, b: 'r', x: -1 },
        { id: 3, a: 's', b: null, x: 0 },
      ],
    ],
    [
      'the library STUDENT shape',
      relation(
        'student',
        [
          ['nce', T.int],
          ['fname', T.text, false],
          ['institution', T.text, false],
          ['class', T.text],
        ],
        ['nce'],
        { checks: [check('student_institution_check', "institution IN ('ENIT', 'FST')")] },
      ),
      `
  - { name: BIB, of: student, columns: [nce, fname], sites: [A, B] }
  - { name: S_ENIT, of: student, where: "institution = 'ENIT'", columns: [nce, class], sites: [A] }
  - { name: S_FST, of: student, where: "institution = 'FST'", columns: [nce, class], sites: [B] }`,
      [
        { nce: 1, fname: 'Ines', institution: 'ENIT', class: 'GI2' },
        { nce: 2, fname: 'Sami', institution: 'FST', class: null },
        { nce: 3, fname: 'Rim', institution: 'FST', class: 'MP1' },
      ],
    ],
  ];

  it.each(cases)('%s', (_title, rel, fragments, rows) => {
    const v = validate(fragments, rel);
    const { rep, rr } = v.of(rel.name);
    expect(v.report.valid).toBe(true);
    const { ok, got } = rebuilds(rr, rep.reconstruction, rows);
    expect(ok, `${rep.reconstruction} gave ${JSON.stringify(got)}`).toBe(true);
  });
});

describe('degenerate designs', () => {
  it('an unsatisfiable predicate: a warning "always empty", and the design stays valid', () => {
    const v = validate(
      `
  - { name: NEVER, of: num, where: "x > 5 AND x < 3", sites: [A] }
  - { name: ALL, of: num, sites: [B] }`,
      num(false),
    );
    const { rep } = v.of('num');
    expect(v.report.valid).toBe(true);
    expect(v.report.warnings).toBe(1);
    expect(failing(rep).map(essence)).toEqual([{ rule: 'completeness', ok: false, severity: 'warning', fragments: ['NEVER'] }]);
    expect(failing(rep)[0]!.message).toContain('always empty');
    expect(rep.reconstruction).toBe('num = ALL');
  });

  it('a predicate that contradicts a CHECK constraint is always empty too', () => {
    const v = validate(
      `
  - { name: C_N, of: customer, where: "region = 'N'", sites: [A] }
  - { name: C_S, of: customer, where: "region = 'S'", sites: [B] }
  - { name: C_X, of: customer, where: "region = 'X'", sites: [C] }`,
      customer({ check: "region IN ('N', 'S')" }),
    );
    const { rep } = v.of('customer');
    expect(v.report.valid).toBe(true);
    expect(failing(rep).map(essence)).toEqual([{ rule: 'completeness', ok: false, severity: 'warning', fragments: ['C_X'] }]);
  });

  it('a relation with no fragment is an error listing all its columns', () => {
    const v = validate(
      `
  - { name: ALL, of: num, sites: [A] }`,
      num(false),
      product,
    );
    expect(v.report.valid).toBe(false);
    const { rep } = v.of('product');
    expect(rep.reconstruction).toBe('product = ∅');
    expect(rep.checks.map(essence)).toEqual([
      { rule: 'completeness', ok: false, severity: 'error', columns: ['id', 'name', 'price', 'stock'] },
    ]);
    expect(failing(v.of('num').rep)).toEqual([]);
  });

  it('validateRelation on one relation gives the same report as validateDesign does for it', () => {
    const v = validate(
      `
  - { name: LOW, of: num, where: "x < 10", sites: [A] }
  - { name: HIGH, of: num, where: "x >= 5", sites: [B] }`,
      num(false),
    );
    expect(validateRelation(v.of('num').rr)).toEqual(v.of('num').rep);
  });
});

describe("the library example on its real source (PGlite): the paper's Table VII", () => {
  let source: SourceDatabase;
  beforeAll(async () => {
    source = await openSource('./library.sql', libraryDir);
  });
  afterAll(async () => {
    await source?.close();
  });

  it('the valid library design passes every check', async () => {
    const d = await loadDesign(path.join(libraryDir, 'design.yaml'));
    const report = validateDesign(resolveDesign(d, source.catalog));
    expect(failingIn(report)).toEqual([]);
    expect(report.valid).toBe(true);
    expect(report.relations.map((r) => r.relation).sort()).toEqual(['author', 'book', 'employee', 'loan', 'student']);
    const employee = report.relations.find((r) => r.relation === 'employee')!;
    expect(employee.reconstruction).toBe(
      "employee = (EMPLOYEE_ENIT × {assignment = 'ENIT'}) ∪ (EMPLOYEE_FST × {assignment = 'FST'}) ∪ (EMPLOYEE_FSEGT × {assignment = 'FSEGT'})",
    );
  });

  it('the broken design fails exactly: completeness at FST (class) and disjointness at FSEGT (nb_borrow)', async () => {
    const d = await loadDesign(path.join(libraryDir, 'design-broken.yaml'));
    const resolved = resolveDesign(d, source.catalog);
    const report = validateDesign(resolved);
    verifyCounterexamples(report, resolved);
    expect(report.valid).toBe(false);
    expect(report.errors).toBe(2);
    expect(report.warnings).toBe(0);
    expect(failingIn(report).map((c) => ({ relation: c.relation, ...essence(c) }))).toEqual([
      {
        relation: 'student',
        rule: 'completeness',
        ok: false,
        severity: 'error',
        site: 'FST',
        fragments: ['STUD_BIB_FST', 'STUD_ADMIN_FST'],
        columns: ['class'],
      },
      {
        relation: 'student',
        rule: 'disjointness',
        ok: false,
        severity: 'error',
        site: 'FSEGT',
        fragments: ['STUD_BIB_FSEGT', 'STUD_ADMIN_FSEGT'],
        columns: ['nb_borrow'],
      },
    ]);
    const rr = resolved.relations.find((r) => r.relation.name === 'student')!;
    const [incomplete, overlap] = failingIn(report);
    expect(incomplete!.counterexample).toEqual({ institution: 'FST' });
    expect(overlap!.counterexample).toEqual({ institution: 'FSEGT' });
    expect(membership(rr, 'STUD_ADMIN_FST', incomplete!.counterexample!)).toBe(true);
    expect(membership(rr, 'STUD_BIB_FSEGT', overlap!.counterexample!)).toBe(true);
    expect(membership(rr, 'STUD_ADMIN_FSEGT', overlap!.counterexample!)).toBe(true);
    expectAllowedRow(rr, incomplete!.counterexample!);
  });
});
