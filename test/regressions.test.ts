/**
 * Regression tests for bugs found while testing: each failed before its fix.
 */
import { describe, expect, it } from 'vitest';
import { DesignError } from '../src/design/errors.js';
import { parseDesign } from '../src/design/load.js';
import { resolveDesign } from '../src/design/resolve.js';
import { validateDesign } from '../src/validate/static.js';
import { T, relation } from './helpers.js';
import { rebuilds } from './support/algebra.js';

const FILE = '/tmp/x/design.yaml';

describe('fixed: malformed YAML is reported without its line (src/design/load.ts parseDesign)', () => {
  // parseDesign parses with `prettyErrors: false`, so the yaml library never fills `err.linePos`,
  // and `err.linePos?.[0]?.line` is always undefined. The line is available as
  // `lineCounter.linePos(err.pos[0]).line`.
  it('names the line of the YAML error', () => {
    const text = [
      'name: x', //                                  line 1
      'source: ./library.sql', //                    line 2
      'sites:', //                                   line 3
      '  A: { engine: sqlite, url: "memory:" }', //  line 4
      'fragments:', //                               line 5
      '  - name: P', //                              line 6
      '    of: book', //                             line 7
      '   sites: [A]', //                            line 8: bad indentation
      '',
    ].join('\n');
    let error: unknown;
    try {
      parseDesign(text, FILE);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DesignError);
    // Actual: "/tmp/x/design.yaml: malformed YAML: Sequence item without - indicator", context.line undefined.
    expect((error as DesignError).context.line).toBe(8);
    expect((error as DesignError).message).toMatch(/^\/tmp\/x\/design\.yaml:8: malformed YAML/);
  });
});

describe('fixed: the reconstruction expression joins horizontal pieces that provide different column sets (src/validate/static.ts reconstructionExpression)', () => {
  // When the horizontal pieces are not self-contained, reconstructionExpression groups fragments by
  // the exact set of columns they provide (stored ∪ implied) and joins the groups. A piece whose
  // predicate fixes an extra column (implied constant) lands in a group of its own, and is then
  // JOINED with its sibling pieces, which hold other keys: the expression yields ∅ for a valid design.
  const student = relation(
    'student',
    [
      ['nce', T.int],
      ['fname', T.text, false],
      ['institution', T.text, false],
      ['class', T.text],
    ],
    ['nce'],
    { checks: [{ name: 'student_institution_check', expression: "institution IN ('ENIT', 'FST', 'FSEGT')" }] },
  );
  const design = [
    'name: t',
    'source: ./x.sql',
    'sites:',
    '  A: { engine: sqlite, url: "memory:" }',
    '  B: { engine: sqlite, url: "memory:" }',
    'fragments:',
    '  - { name: STUDENT_BIB, of: student, columns: [nce, fname, institution], sites: [A, B] }',
    `  - { name: STUDENT_ENIT, of: student, where: "institution = 'ENIT'", columns: [nce, class], sites: [A] }`,
    `  - { name: STUDENT_REST, of: student, where: "institution <> 'ENIT'", columns: [nce, class], sites: [B] }`,
    '',
  ].join('\n');

  it('rebuilds the relation of a valid hybrid design', () => {
    const resolved = resolveDesign(parseDesign(design, FILE), { relations: [student] });
    const report = validateDesign(resolved);
    expect(report.valid).toBe(true); // passes: the design is valid
    const rep = report.relations[0]!;
    // Actual:   student = STUDENT_BIB ⋈ (STUDENT_ENIT × {institution = 'ENIT'}) ⋈ STUDENT_REST   (always ∅)
    // Expected: student = STUDENT_BIB ⋈ ((STUDENT_ENIT × {institution = 'ENIT'}) ∪ STUDENT_REST)  or equivalent
    const rows = [
      { nce: 1, fname: 'Ines', institution: 'ENIT', class: 'GI2' },
      { nce: 2, fname: 'Sami', institution: 'FST', class: 'MP1' },
      { nce: 3, fname: 'Rim', institution: 'FSEGT', class: null },
    ];
    const { ok, got } = rebuilds(resolved.relations[0]!, rep.reconstruction, rows);
    expect(ok, `${rep.reconstruction} gave ${JSON.stringify(got)}`).toBe(true);
  });
});

describe('fixed: horizontal pieces storing different columns were joined instead of united (src/validate/reconstruction.ts)', () => {
  // STUDENT_ENIT drops institution (its predicate implies it) while STUDENT_OTHER stores it: the
  // pieces were grouped by their exact stored columns, so they landed in two vertical parts and
  // were key-joined — an always empty relation (found by the query differential suite).
  const student = relation(
    'student',
    [
      ['nce', T.int],
      ['fname', T.text, false],
      ['address', T.text],
      ['institution', T.text, false],
    ],
    ['nce'],
    { checks: [{ name: 'student_institution_check', expression: "institution IN ('ENIT', 'FST', 'FSEGT')" }] },
  );
  const design = [
    'name: t',
    'source: ./x.sql',
    'sites:',
    '  A: { engine: sqlite, url: "memory:" }',
    '  B: { engine: sqlite, url: "memory:" }',
    'fragments:',
    '  - { name: STUDENT_BIB, of: student, columns: [nce, fname], sites: [A, B] }',
    `  - { name: STUDENT_ENIT, of: student, where: "institution = 'ENIT'", columns: [nce, address], sites: [A] }`,
    `  - { name: STUDENT_OTHER, of: student, where: "institution <> 'ENIT'", columns: [nce, address, institution], sites: [B] }`,
    '',
  ].join('\n');

  it('unites the pieces that store a column in common', () => {
    const resolved = resolveDesign(parseDesign(design, FILE), { relations: [student] });
    const report = validateDesign(resolved);
    expect(report.valid).toBe(true);
    const rep = report.relations[0]!;
    expect(rep.reconstruction).toContain('∪');
    const rows = [
      { nce: 1, fname: 'Ines', address: null, institution: 'ENIT' },
      { nce: 2, fname: 'Sami', address: 'Tunis', institution: 'FST' },
      { nce: 3, fname: 'Rim', address: null, institution: 'FSEGT' },
    ];
    const { ok, got } = rebuilds(resolved.relations[0]!, rep.reconstruction, rows);
    expect(ok, `${rep.reconstruction} gave ${JSON.stringify(got)}`).toBe(true);
  });
});
