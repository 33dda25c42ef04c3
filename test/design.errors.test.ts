/**
 * Designs that cannot be used (exit code 2 in the CLI): each is a DesignError whose message names
 * the file, the fragment (or site) and the problem. Unknown names are found when the design is
 * bound to the catalog (resolveDesign); malformed files when it is read (parseDesign/loadDesign).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from '../src/catalog/types.js';
import { isUserError } from '../src/cli/errors.js';
import { DesignError, UserError } from '../src/design/errors.js';
import { decisionSite, loadDesign, parseDesign } from '../src/design/load.js';
import { resolveDesign } from '../src/design/resolve.js';
import { T, relation } from './helpers.js';

const FILE = '/tmp/x/design.yaml';

const catalog: Catalog = {
  relations: [
    relation(
      'customer',
      [
        ['id', T.int],
        ['name', T.text, false],
        ['region', T.text, false],
      ],
      ['id'],
    ),
    relation(
      'orders',
      [
        ['order_id', T.int],
        ['customer_id', T.int, false],
        ['day', T.date, false],
        ['paid', T.bool, false],
      ],
      ['order_id'],
      {
        foreignKeys: [
          { name: 'orders_customer_fkey', columns: ['customer_id'], references: { relation: 'customer', columns: ['id'] } },
        ],
      },
    ),
    relation(
      'product',
      [
        ['product_id', T.int],
        ['stock', T.int, false],
        ['price', T.money, false],
      ],
      ['product_id'],
    ),
  ],
};

const HEAD = [
  'name: errors-test',
  'source: ./source.sql',
  'sites:',
  '  NBO: { engine: postgres, url: "postgres://postgres@127.0.0.1:5432/nbo", decision: true }',
  '  MSA: { engine: sqlite, url: "file:./sites/msa.db" }',
  'fragments:',
].join('\n');

/** The DesignError raised by reading and binding the design text (fails the test if none). */
function errorOf(text: string, file = FILE): DesignError {
  try {
    resolveDesign(parseDesign(text, file), catalog);
  } catch (e) {
    expect(e).toBeInstanceOf(DesignError);
    expect(e).toBeInstanceOf(UserError);
    expect(isUserError(e)).toBe(true);
    const err = e as DesignError;
    expect(err.message.startsWith(file)).toBe(true);
    expect(err.message).not.toContain('\n');
    return err;
  }
  throw new Error('expected a DesignError, but the design was accepted');
}

const withFragments = (fragments: string) => `${HEAD}\n${fragments.replace(/^\n/, '')}\n`;

describe('a well-formed design is accepted', () => {
  it('binds to the catalog', () => {
    const text = withFragments(`
  - name: C_NBO
    of: customer
    where: "region = 'NBO'"
    columns: [id, name]
    sites: [NBO]
  - name: O_NBO
    of: Orders
    follows: c_nbo
    sites: [nbo]`);
    const d = parseDesign(text, FILE);
    expect(d.dir).toBe('/tmp/x');
    expect(d.fragmentLines.get('C_NBO')).toBe(7);
    expect(d.fragmentLines.get('O_NBO')).toBe(12);
    expect(decisionSite(d).name).toBe('NBO');
    const r = resolveDesign(d, catalog);
    expect(r.fragments.map((f) => [f.name, f.relation.name, f.columns])).toEqual([
      ['C_NBO', 'customer', ['id', 'name']],
      ['O_NBO', 'orders', ['order_id', 'customer_id', 'day', 'paid']],
    ]);
    expect(r.fragments[1]!.parent?.fragment.name).toBe('C_NBO');
  });
});

describe('malformed files', () => {
  it('malformed YAML names the file and says the YAML is malformed', () => {
    const err = errorOf(`${HEAD}\n  - name: C\n    of: customer\n   sites: [NBO]\n`);
    expect(err.message).toMatch(/malformed YAML/);
    expect(err.context.file).toBe(FILE);
  });

  it('an unclosed flow sequence is malformed YAML', () => {
    const err = errorOf(`${HEAD}\n  - name: C\n    of: customer\n    sites: [NBO\n`);
    expect(err.message).toMatch(/malformed YAML/);
  });

  it('a key given twice is malformed YAML', () => {
    const err = errorOf(
      withFragments(`
  - name: C
    of: customer
    of: orders
    sites: [NBO]`),
    );
    expect(err.message).toMatch(/malformed YAML/);
  });

  it('a document that is not a mapping is refused', () => {
    const err = errorOf('- just\n- a list\n');
    expect(err.message).toMatch(/must be a mapping/);
  });

  it('an unknown key (typo colums) names the fragment, the line and the key', () => {
    const err = errorOf(
      withFragments(`
  - name: C_NBO
    of: customer
    colums: [id, name]
    sites: [NBO]`),
    );
    expect(err.context).toMatchObject({ file: FILE, fragment: 'C_NBO' });
    expect(err.context.line).toBeGreaterThanOrEqual(7);
    expect(err.context.line).toBeLessThanOrEqual(9);
    expect(err.message).toContain('fragment C_NBO');
    expect(err.message).toContain('unknown key colums');
    expect(err.message).toMatch(new RegExp(`^${FILE}:\\d+: `));
  });

  it('an unknown top-level key is refused too', () => {
    const err = errorOf(
      `${withFragments(`
  - name: C_NBO
    of: customer
    sites: [NBO]`)}fragmnets: []\n`,
    );
    expect(err.message).toContain('unknown key fragmnets');
  });

  it('a missing required key (sites of a fragment) is reported', () => {
    const err = errorOf(
      withFragments(`
  - name: C_NBO
    of: customer`),
    );
    expect(err.message).toContain('fragment C_NBO');
    expect(err.message).toMatch(/sites: is required/);
  });

  it('a fragment name that is not an SQL identifier is refused', () => {
    const err = errorOf(
      withFragments(`
  - name: 1st-fragment
    of: customer
    sites: [NBO]`),
    );
    expect(err.message).toMatch(/SQL identifier/);
  });
});

describe('names the source or the design does not have', () => {
  it('unknown relation', () => {
    const err = errorOf(
      withFragments(`
  - name: C_NBO
    of: customomer
    sites: [NBO]`),
    );
    expect(err.context).toMatchObject({ file: FILE, fragment: 'C_NBO', line: 7 });
    expect(err.message).toBe(`${FILE}:7: fragment C_NBO: unknown relation customomer; the source has customer, orders, product`);
  });

  it('unknown column in columns:', () => {
    const err = errorOf(
      withFragments(`
  - name: C_NBO
    of: customer
    columns: [id, nmae]
    sites: [NBO]`),
    );
    expect(err.context.fragment).toBe('C_NBO');
    expect(err.message).toContain('unknown column nmae in relation customer');
  });

  it('unknown column in where:', () => {
    const err = errorOf(
      withFragments(`
  - name: C_NBO
    of: customer
    where: "regoin = 'NBO'"
    sites: [NBO]`),
    );
    expect(err.context.fragment).toBe('C_NBO');
    expect(err.message).toContain('unknown column regoin');
  });

  it('a column listed twice', () => {
    const err = errorOf(
      withFragments(`
  - name: C_NBO
    of: customer
    columns: [id, name, NAME]
    sites: [NBO]`),
    );
    expect(err.message).toContain('fragment C_NBO');
    expect(err.message).toMatch(/listed twice/);
  });

  it('unknown site', () => {
    const err = errorOf(
      withFragments(`
  - name: C_NBO
    of: customer
    sites: [NBO, KSM]`),
    );
    expect(err.context.fragment).toBe('C_NBO');
    expect(err.message).toContain('unknown site KSM');
    expect(err.message).toContain('NBO, MSA');
  });

  it('unknown engine names the site, the line and the engines there are', () => {
    const text = withFragments(`
  - name: C_NBO
    of: customer
    sites: [NBO]`).replace('engine: sqlite', 'engine: oracle');
    const err = errorOf(text);
    expect(err.context.line).toBe(5);
    expect(err.message).toContain('sites.MSA.engine');
    expect(err.message).toMatch(/unknown engine.*postgres, mariadb, mysql, sqlite, duckdb, pglite/);
  });

  it.each([
    ['sqlite', 'postgres://u@h:5432/d', /file:PATH or memory:/],
    ['duckdb', './fsegt.duckdb', /file:PATH or memory:/],
    ['postgres', 'file:./x.db', /postgres:\/\/user@host:port\/database/],
    ['mariadb', 'postgres://u@h:5432/d', /mysql:\/\/user@host:port\/database/],
  ])('a bad url for a %s site (%s)', (engine, url, expected) => {
    const text = withFragments(`
  - name: C_NBO
    of: customer
    sites: [NBO]`).replace('{ engine: sqlite, url: "file:./sites/msa.db" }', `{ engine: ${engine}, url: "${url}" }`);
    const err = errorOf(text);
    expect(err.message).toContain('sites.MSA.url');
    expect(err.message).toMatch(expected);
    expect(err.context.line).toBe(5);
  });

  it('follows an unknown fragment', () => {
    const err = errorOf(
      withFragments(`
  - name: O_NBO
    of: orders
    follows: C_KSM
    sites: [NBO]`),
    );
    expect(err.context.fragment).toBe('O_NBO');
    expect(err.message).toContain('follows unknown fragment C_KSM');
  });
});

describe('predicates', () => {
  it('a predicate that does not parse', () => {
    const err = errorOf(
      withFragments(`
  - name: C_NBO
    of: customer
    where: "region = = 'NBO'"
    sites: [NBO]`),
    );
    expect(err.context).toMatchObject({ fragment: 'C_NBO', line: 7 });
    expect(err.message).toContain(`cannot parse predicate "region = = 'NBO'"`);
  });

  it.each([
    ['product', "stock = 'abc'", /'abc' is not a value of type integer.*column stock/],
    ['customer', 'region = 5', /5 is not a value of type text.*column region/],
    ['orders', "day = 'yesterday'", /column day/],
    ['orders', 'paid = 3', /column paid/],
    ['product', "price BETWEEN 1 AND 'ten'", /column price/],
    ['customer', "region IN ('NBO', 7)", /column region/],
  ])('on %s, %s compares a column with a value of the wrong type', (relationName, where, expected) => {
    const err = errorOf(
      withFragments(`
  - name: F
    of: ${relationName}
    where: "${where}"
    sites: [NBO]`),
    );
    expect(err.context.fragment).toBe('F');
    expect(err.message).toContain(`fragment F: in "${where}"`);
    expect(err.message).toMatch(expected);
  });

  it('a predicate comparing two columns is refused (not reasoned about)', () => {
    const err = errorOf(
      withFragments(`
  - name: O
    of: orders
    where: "order_id = customer_id"
    sites: [NBO]`),
    );
    expect(err.message).toMatch(/comparing two columns/);
  });
});

describe('derived fragments and fragment names', () => {
  it('follows without a foreign key between the two relations', () => {
    const err = errorOf(
      withFragments(`
  - name: C_NBO
    of: customer
    sites: [NBO]
  - name: P_NBO
    of: product
    follows: C_NBO
    sites: [NBO]`),
    );
    expect(err.context).toMatchObject({ fragment: 'P_NBO', line: 10 });
    expect(err.message).toBe(
      `${FILE}:10: fragment P_NBO: follows C_NBO, a fragment of customer, but product has no foreign key to customer`,
    );
  });

  it('follows in the wrong direction (the parent has no key to the child) is refused', () => {
    const err = errorOf(
      withFragments(`
  - name: O_NBO
    of: orders
    sites: [NBO]
  - name: C_NBO
    of: customer
    follows: O_NBO
    sites: [NBO]`),
    );
    expect(err.message).toContain('customer has no foreign key to orders');
  });

  it('a follows cycle', () => {
    const err = errorOf(
      withFragments(`
  - name: O_A
    of: orders
    follows: O_B
    sites: [NBO]
  - name: O_B
    of: orders
    follows: O_A
    sites: [MSA]`),
    );
    expect(err.message).toContain('follows forms a cycle: O_A → O_B → O_A');
    expect(err.context.fragment).toBe('O_A');
  });

  it('a fragment following itself', () => {
    const err = errorOf(
      withFragments(`
  - name: O_A
    of: orders
    follows: O_A
    sites: [NBO]`),
    );
    expect(err.message).toMatch(/cycle: O_A → O_A/);
  });

  it('duplicate fragment names (compared without regard to case)', () => {
    const err = errorOf(
      withFragments(`
  - name: C_NBO
    of: customer
    sites: [NBO]
  - name: c_nbo
    of: customer
    sites: [MSA]`),
    );
    expect(err.context).toMatchObject({ fragment: 'c_nbo', line: 10 });
    expect(err.message).toContain('fragment name c_nbo is used twice');
  });

  it('two decision sites', () => {
    const text = withFragments(`
  - name: C_NBO
    of: customer
    sites: [NBO]`).replace('url: "file:./sites/msa.db"', 'url: "file:./sites/msa.db", decision: true');
    const err = errorOf(text);
    expect(err.message).toContain('only one site can be the decision site');
    expect(err.message).toContain('NBO and MSA');
  });

  it('replication on a fragment with a single site', () => {
    const err = errorOf(
      withFragments(`
  - name: C_NBO
    of: customer
    replication: async
    sites: [NBO]`),
    );
    expect(err.message).toMatch(/replication: async needs at least two sites/);
  });
});

describe('design files on disk', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ddbkit-design-errors-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const json = {
    name: 'json-design',
    source: './source.sql',
    sites: { NBO: { engine: 'pglite', url: 'memory:' }, MSA: { engine: 'duckdb', url: 'file:./msa.duckdb' } },
    fragments: [
      { name: 'C_NBO', of: 'customer', where: "region = 'NBO'", sites: ['NBO'] },
      { name: 'C_OTHER', of: 'customer', where: "region <> 'NBO'", sites: ['MSA'] },
      { name: 'O_NBO', of: 'orders', follows: 'C_NBO', sites: ['NBO'] },
      { name: 'O_OTHER', of: 'orders', follows: 'C_OTHER', sites: ['MSA'] },
      { name: 'P_ALL', of: 'product', sites: ['NBO', 'MSA'], replication: 'sync' },
    ],
  };

  it('a JSON design file is accepted', async () => {
    const file = path.join(dir, 'design.json');
    writeFileSync(file, JSON.stringify(json, null, 2));
    const d = await loadDesign(file);
    expect(d.name).toBe('json-design');
    expect(d.file).toBe(file);
    expect(d.dir).toBe(dir);
    expect(d.sites.map((s) => [s.name, s.engine])).toEqual([
      ['NBO', 'pglite'],
      ['MSA', 'duckdb'],
    ]);
    const r = resolveDesign(d, catalog);
    expect(r.fragments.map((f) => f.name)).toEqual(['C_NBO', 'C_OTHER', 'O_NBO', 'O_OTHER', 'P_ALL']);
  });

  it('a JSON design file with a typo names the file, the line and the fragment', async () => {
    const file = path.join(dir, 'typo.json');
    const bad = structuredClone(json) as { fragments: Array<Record<string, unknown>> };
    bad.fragments[1] = { name: 'C_OTHER', of: 'customer', colums: ['id'], sites: ['MSA'] };
    writeFileSync(file, JSON.stringify(bad, null, 2));
    const err = await loadDesign(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DesignError);
    const message = (err as DesignError).message;
    expect(message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: fragment C_OTHER: `));
    expect(message).toContain('unknown key colums');
  });

  it('malformed JSON is malformed YAML', async () => {
    const file = path.join(dir, 'broken.json');
    writeFileSync(file, '{ "name": "x", "sites": { ');
    await expect(loadDesign(file)).rejects.toThrow(/broken\.json.*malformed YAML/);
  });

  it('a missing design file', async () => {
    const file = path.join(dir, 'nope.yaml');
    const err = await loadDesign(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DesignError);
    expect((err as DesignError).message).toBe(`${file}: design file not found`);
  });

  it('a relative path is resolved, and the design folder is the file’s folder', async () => {
    const file = path.join(dir, 'design.json');
    writeFileSync(file, JSON.stringify(json));
    const d = await loadDesign(path.relative(process.cwd(), file));
    expect(d.file).toBe(file);
    expect(d.dir).toBe(dir);
  });
});
