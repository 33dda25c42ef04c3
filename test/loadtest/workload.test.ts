/**
 * The workload file of `ddbkit loadtest`: the shipped workloads parse; every mistake is refused
 * with the file and line; the condition language, the :name → $n rewrite and the seeded draws.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadDesign } from '../../src/design/load.js';
import { resolveDesign } from '../../src/design/resolve.js';
import { openSource } from '../../src/engines/source.js';
import { evaluate, parseCondition, parseValue } from '../../src/loadtest/expr.js';
import { preflight, updatedColumns } from '../../src/loadtest/preflight.js';
import { Random } from '../../src/loadtest/random.js';
import { summarize, writtenRelation } from '../../src/loadtest/run.js';
import { bindNamedParams } from '../../src/loadtest/sql-params.js';
import { WorkloadError, loadWorkload, parseWorkload } from '../../src/loadtest/workload.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FILE = '/tmp/w.yaml';

const base = `name: t
params:
  book: { int: [1, 10] }
transactions:
  borrow:
    steps:
      - sql: SELECT stock FROM book WHERE id_book = :book
        expect: stock > 0
`;

function error(text: string): WorkloadError {
  try {
    parseWorkload(text, FILE);
  } catch (e) {
    expect(e).toBeInstanceOf(WorkloadError);
    return e as WorkloadError;
  }
  throw new Error('the workload was accepted');
}

describe('workload files', () => {
  it('parses the shipped workloads', async () => {
    const lib = await loadWorkload(path.join(root, 'examples/library/workload.yaml'));
    expect(lib.transactions.map((t) => t.name)).toEqual(['borrow', 'return']);
    const borrow = lib.transactions[0]!;
    expect(borrow.params.sort()).toEqual(['book', 'borrowed_on', 'student']);
    expect(borrow.steps[0]!.bound).toEqual({ sql: 'SELECT stock FROM book WHERE id_book = $1 FOR UPDATE', names: ['book'] });
    expect(borrow.steps[0]!.refused).toBe('no copy left');
    expect(lib.invariants.filter((i) => i.needsBefore).map((i) => i.name)).toHaveLength(3);
    const shop = await loadWorkload(path.join(root, 'examples/ecommerce/workload.yaml'));
    expect(shop.params.get('order_id')).toMatchObject({ kind: 'sequence', start: 'SELECT max(order_id) FROM orders' });
    expect(shop.transactions.find((t) => t.name === 'place_order')!.weight).toBe(4);
  });

  it('names the file and line of a malformed YAML', () => {
    expect(error(`${base}  x: [1,\n`).message).toMatch(/^\/tmp\/w\.yaml:\d+: malformed YAML/);
  });

  it('refuses an unknown key, with its line', () => {
    const e = error(base.replace('        expect: stock > 0', '        expect: stock > 0\n        retry: 3'));
    expect(e.message).toBe('/tmp/w.yaml:9: transactions.borrow.steps[0]: unknown key retry');
  });

  it('refuses a generator that is not one of the kinds, or two at once', () => {
    expect(error(base.replace('{ int: [1, 10] }', '{ range: [1, 10] }')).message).toMatch(
      /^\/tmp\/w\.yaml:3: params\.book: unknown key range/,
    );
    expect(error(base.replace('{ int: [1, 10] }', '{ int: [1, 10], pick: [1] }')).message).toMatch(
      /^\/tmp\/w\.yaml:3: params\.book: a parameter has one generator, not int and pick/,
    );
    expect(error(base.replace('{ int: [1, 10] }', '{ int: [10, 1] }')).message).toMatch(
      /:3: params\.book\.int: the lower bound is above/,
    );
    expect(error(base.replace('{ int: [1, 10] }', '{ date: ["2027-1-1", "2027-12-31"] }')).message).toMatch(
      /:3: params\.book\.date\[0\]: must be a date written YYYY-MM-DD/,
    );
  });

  it('refuses a :parameter that nothing defines', () => {
    const e = error(base.replace(':book', ':bok'));
    expect(e.message).toBe(
      '/tmp/w.yaml:7: transactions.borrow.steps[0].sql: :bok is not a parameter (declared: book) nor a value an earlier step selected or set',
    );
  });

  it('accepts a column of an earlier SELECT as a parameter', () => {
    const w = parseWorkload(`${base}      - sql: UPDATE book SET stock = :stock - 1 WHERE id_book = :book\n`, FILE);
    expect(w.transactions[0]!.steps[1]!.bound.names).toEqual(['stock', 'book']);
  });

  it('refuses a condition that does not parse, with its line', () => {
    expect(error(base.replace('stock > 0', 'stock >')).message).toMatch(
      /^\/tmp\/w\.yaml:8: transactions\.borrow\.steps\[0\]\.expect: cannot read "stock >": a value is missing/,
    );
  });

  it('refuses a weight of 0, no transaction, no steps', () => {
    expect(error(base.replace('    steps:', '    weight: 0\n    steps:')).message).toMatch(
      /:6: transactions\.borrow\.weight: must be above 0/,
    );
    expect(error('name: t\ntransactions: {}\n').message).toMatch(/:2: transactions: at least one transaction is needed/);
    expect(error('name: t\ntransactions:\n  a:\n    steps: []\n').message).toMatch(
      /:4: transactions\.a\.steps: a transaction needs at least one step/,
    );
    expect(error('transactions: {}\n').message).toMatch(
      /^\/tmp\/w\.yaml:1: name: is required|^\/tmp\/w\.yaml: name: is required/,
    );
  });

  it('refuses an invariant reading a transaction that does not exist', () => {
    const e = error(
      `${base}invariants:\n  - name: loans\n    sql: SELECT count(*) AS n FROM loan\n    expect: n = before.n + committed.borow\n`,
    );
    expect(e.message).toBe(
      '/tmp/w.yaml:12: invariants[0].expect: committed.borow: there is no transaction borow (transactions: borrow)',
    );
  });

  it('says when the file does not exist', async () => {
    await expect(loadWorkload('/nonexistent/w.yaml')).rejects.toThrow('/nonexistent/w.yaml: workload file not found');
  });
});

describe('conditions', () => {
  const scope = (names: Record<string, unknown>, params: Record<string, unknown> = {}) => ({
    name: (n: string) => names[n],
    param: (n: string) => params[n],
  });
  it('compares numbers (numeric strings and bigints too), text, NULL as false', () => {
    expect(evaluate(parseCondition('stock > 0'), scope({ stock: 1 }))).toBe(true);
    expect(evaluate(parseCondition('stock > 0'), scope({ stock: '0' }))).toBe(false);
    expect(evaluate(parseCondition('n = 3'), scope({ n: 3n }))).toBe(true);
    expect(evaluate(parseCondition("status = 'open'"), scope({ status: 'open' }))).toBe(true);
    expect(evaluate(parseCondition('stock > 0'), scope({ stock: null }))).toBe(false);
    expect(evaluate(parseCondition('stock >= :qty and rows = 1'), scope({ stock: 2, rows: 1 }, { qty: 2 }))).toBe(true);
    expect(evaluate(parseCondition('not (a = 1 or b = 2)'), scope({ a: 0, b: 2 }))).toBe(false);
    expect(
      evaluate(
        parseCondition('loans = before.loans + committed.borrow'),
        scope({ loans: 7, 'before.loans': 5, 'committed.borrow': 2 }),
      ),
    ).toBe(true);
  });
  it('computes values for set:', () => {
    expect(evaluate(parseValue('price * :qty'), scope({ price: '19.99' }, { qty: 3 }))).toBe(59.97);
    expect(evaluate(parseValue('(a + 1) * 2 - -1'), scope({ a: 1 }))).toBe(5);
  });
  it('refuses what it cannot read', () => {
    expect(() => parseCondition('a >')).toThrow(/a value is missing/);
    expect(() => parseCondition('a = 1 b')).toThrow(/unexpected text/);
    expect(() => parseCondition('a ~ 1')).toThrow(/unexpected character/);
    expect(() => evaluate(parseCondition('zz > 1'), scope({}))).toThrow(/unknown name zz/);
  });
});

describe(':name parameters', () => {
  it('become $n, skipping literals, identifiers, comments and casts', () => {
    expect(bindNamedParams(`SELECT ':no', "a:b", x::int FROM t -- :nope\nWHERE a = :a AND b = :b /* :c */ AND c = :a`)).toEqual({
      sql: `SELECT ':no', "a:b", x::int FROM t -- :nope\nWHERE a = $1 AND b = $2 /* :c */ AND c = $1`,
      names: ['a', 'b'],
    });
    expect(bindNamedParams("SELECT 'it''s :x' AS s, :y").sql).toBe("SELECT 'it''s :x' AS s, $1");
  });
  it('finds the relation an INSERT or DELETE writes', () => {
    expect(writtenRelation('INSERT INTO loan (a) VALUES (1)')).toEqual({ relation: 'loan', kind: 'insert' });
    expect(writtenRelation('  delete from "Order_Item" where x = 1')).toEqual({ relation: 'Order_Item', kind: 'delete' });
    expect(writtenRelation('UPDATE book SET stock = 1')).toBeUndefined();
  });
});

describe('draws and statistics', () => {
  it('draws the same stream from the same seed, different ones from neighbouring seeds', () => {
    const a = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.int(1, 1000)
      )(new Random(7)),
    );
    const b = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.int(1, 1000)
      )(new Random(7)),
    );
    const c = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.int(1, 1000)
      )(new Random(8)),
    );
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const r = new Random(1);
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) counts[r.int(0, 2)]!++;
    for (const n of counts) expect(n).toBeGreaterThan(900);
  });
  it('percentiles by nearest rank', () => {
    const s = summarize(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(s).toMatchObject({ count: 100, p50: 50, p95: 95, p99: 99, max: 100, mean: 50.5 });
    expect(summarize([])).toMatchObject({ count: 0, p99: 0 });
  });
});

describe('preflight', () => {
  it('reads the columns an UPDATE sets', () => {
    expect(updatedColumns('UPDATE student SET nb_borrow = nb_borrow + 1 WHERE nce = $1')).toEqual(['nb_borrow']);
    expect(updatedColumns('UPDATE t AS x SET a = f(1, 2), "B" = \'x,y\' WHERE id = 1')).toEqual(['a', 'b']);
    expect(updatedColumns('UPDATE t SET (a, b) = (1, 2)')).toBeUndefined();
  });

  it('refuses the library workload on the embedded design: STUDENT_BIB has three replicas without two-phase commit', async () => {
    const design = await loadDesign(path.join(root, 'examples/library/design.yaml'));
    const source = await openSource(design.source, design.dir);
    try {
      const workload = await loadWorkload(path.join(root, 'examples/library/workload.yaml'));
      const problems = preflight(resolveDesign(design, source.catalog), workload);
      expect(problems).toHaveLength(2);
      expect(problems[0]).toMatch(
        /workload\.yaml:\d+: transaction borrow writes student, hence every replica of STUDENT_BIB — ENIT \(pglite\), FST \(sqlite\), FSEGT \(duckdb\) — and none of these has two-phase commit/,
      );
      expect(problems[1]).toMatch(/transaction return writes student/);
      // an update of columns STUDENT_BIB does not store is fine
      const other = parseWorkload(
        'name: t\ntransactions:\n  move:\n    steps:\n      - sql: UPDATE student SET address = NULL WHERE nce = 1\n',
        '/tmp/w.yaml',
      );
      expect(preflight(resolveDesign(design, source.catalog), other)).toEqual([]);
      const central = await loadDesign(path.join(root, 'examples/library/design-central.yaml'));
      expect(preflight(resolveDesign(central, source.catalog), workload)).toEqual([]);
    } finally {
      await source.close();
    }
  });
});
