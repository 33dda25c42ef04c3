/**
 * The workload file of `ddbkit loadtest`: named, weighted, parameterised transactions, parameter
 * generators, and invariants checked after the run. YAML, checked with zod; every problem names
 * the file and line.
 *
 * ```yaml
 * name: library-borrow-return
 * params:                                   # drawn anew for every transaction
 *   student:  { query: "SELECT nce FROM student" }      # one of the query's values (run once, at start)
 *   book:     { int: [1, 2000] }                         # a uniform integer, bounds included
 *   method:   { pick: [mpesa, card, cash] }              # one of a list
 *   day:      { date: ["2027-01-01", "2027-12-31"] }     # a uniform date (ISO text)
 *   order_id: { sequence: "SELECT max(order_id) FROM orders" }   # max + 1, + 2, … (or a number to start at)
 * transactions:
 *   borrow:
 *     weight: 1
 *     steps:
 *       - sql: SELECT stock FROM book WHERE id_book = :book FOR UPDATE
 *         expect: stock > 0                  # false → the transaction is refused (rolled back, counted apart)
 *         refused: no copy left
 *       - sql: INSERT INTO loan (id_book, nce, date_borrowing) VALUES (:book, :student, :day)
 * invariants:                               # after the run; each must return no row, or meet `expect`
 *   - name: stock never negative
 *     sql: SELECT id_book FROM book WHERE stock < 0
 *   - name: one loan row per committed borrow
 *     sql: SELECT count(*) AS loans FROM loan
 *     expect: loans = before.loans + committed.borrow
 * ```
 *
 * The columns of a step's first row are available to later steps as `:column`; `set:` computes
 * more values (`amount: price * :qty`).
 */
import { z } from 'zod';
import { DesignError } from '../design/errors.js';
import { type Expr, ExprError, namesIn, parseCondition, parseValue } from './expr.js';
import { bindNamedParams } from './sql-params.js';
import { parseYamlWithLines, readInputFile } from '../util/yaml.js';

export class WorkloadError extends DesignError {
  override name = 'WorkloadError';
}

const identifier = z
  .string()
  .min(1)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a name: letters, digits and _, not starting with a digit');
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date written YYYY-MM-DD');
const scalar = z.union([z.string(), z.number(), z.boolean()]);

const generatorSchema = z
  .object({
    int: z.tuple([z.number().int(), z.number().int()]).optional(),
    pick: z.array(scalar).min(1).optional(),
    query: z.string().min(1).optional(),
    date: z.tuple([isoDate, isoDate]).optional(),
    sequence: z.union([z.number().int(), z.string().min(1)]).optional(),
    description: z.string().optional(),
  })
  .strict()
  .superRefine((g, ctx) => {
    const kinds = (['int', 'pick', 'query', 'date', 'sequence'] as const).filter((k) => g[k] !== undefined);
    if (kinds.length !== 1)
      ctx.addIssue({
        code: 'custom',
        message:
          kinds.length === 0
            ? 'a parameter needs one generator: int: [lo, hi], pick: [...], query: SQL, date: [from, to] or sequence: N | SQL'
            : `a parameter has one generator, not ${kinds.join(' and ')}`,
      });
    if (g.int && g.int[0] > g.int[1])
      ctx.addIssue({ code: 'custom', path: ['int'], message: 'the lower bound is above the upper one' });
    if (g.date && g.date[0] > g.date[1])
      ctx.addIssue({ code: 'custom', path: ['date'], message: 'the first date is after the second' });
  });

const stepSchema = z
  .object({
    sql: z.string().min(1),
    expect: z.string().min(1).optional(),
    refused: z.string().min(1).optional(),
    set: z.record(identifier, z.string().min(1)).optional(),
    description: z.string().optional(),
  })
  .strict();

const transactionSchema = z
  .object({
    weight: z.number().positive('must be above 0').default(1),
    description: z.string().optional(),
    steps: z.array(stepSchema).min(1, 'a transaction needs at least one step'),
  })
  .strict();

const invariantSchema = z
  .object({
    name: z.string().min(1),
    sql: z.string().min(1),
    expect: z.string().min(1).optional(),
    description: z.string().optional(),
  })
  .strict();

export const workloadSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    params: z.record(identifier, generatorSchema).default({}),
    transactions: z
      .record(identifier, transactionSchema)
      .refine((t) => Object.keys(t).length > 0, 'at least one transaction is needed'),
    invariants: z.array(invariantSchema).default([]),
  })
  .strict();

export type Generator =
  | { kind: 'int'; lo: number; hi: number }
  | { kind: 'pick'; values: Array<string | number | boolean> }
  | { kind: 'query'; sql: string }
  | { kind: 'date'; from: string; to: string }
  | { kind: 'sequence'; start: number | string };

export interface Step {
  sql: string;
  /** The SQL with `$1 … $n`, and which parameter each `$n` is. */
  bound: { sql: string; names: string[] };
  expect?: { text: string; expr: Expr };
  refused?: string;
  set: Array<{ name: string; text: string; expr: Expr }>;
  line?: number;
}

export interface Transaction {
  name: string;
  weight: number;
  description?: string;
  steps: Step[];
  /** The generator parameters the transaction reads (drawn before it starts). */
  params: string[];
  line?: number;
}

export interface Invariant {
  name: string;
  sql: string;
  expect?: { text: string; expr: Expr };
  /** The invariant is also run before the run (its expect reads `before.…`). */
  needsBefore: boolean;
  line?: number;
}

export interface Workload {
  name: string;
  description?: string;
  file: string;
  params: Map<string, Generator & { line?: number }>;
  transactions: Transaction[];
  invariants: Invariant[];
}

export async function loadWorkload(file: string): Promise<Workload> {
  const { text, absolute } = await readInputFile(file, 'workload file', workloadError);
  return parseWorkload(text, absolute);
}

const workloadError = (problem: string, at: { file: string; line?: number }) => new WorkloadError(problem, at);

export function parseWorkload(text: string, file: string): Workload {
  const { doc, lineOf } = parseYamlWithLines(text, file, workloadError);
  const fail = (where: readonly PropertyKey[], problem: string, knownLine?: number): never => {
    const line = knownLine ?? lineOf(where);
    const at = where
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, '');
    throw new WorkloadError(`${at ? `${at}: ` : ''}${problem}`, { file, ...(line ? { line } : {}) });
  };
  const raw = doc.toJS() as unknown;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new WorkloadError('a workload must be a mapping with name, params, transactions and invariants', { file });
  const parsed = workloadSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    let message = issue.message;
    if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) message = 'is required';
    if (issue.code === 'unrecognized_keys') {
      // the line of the unknown key itself, the path of the mapping holding it
      const line = lineOf([...issue.path, issue.keys[0]!]);
      fail(issue.path, `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`, line);
    }
    fail(issue.path, message);
  }
  const data = parsed.data!;

  const params = new Map<string, Generator & { line?: number }>();
  for (const [name, g] of Object.entries(data.params)) {
    const line = lineOf(['params', name]);
    const gen: Generator = g.int
      ? { kind: 'int', lo: g.int[0], hi: g.int[1] }
      : g.pick
        ? { kind: 'pick', values: g.pick }
        : g.query
          ? { kind: 'query', sql: g.query }
          : g.date
            ? { kind: 'date', from: g.date[0], to: g.date[1] }
            : { kind: 'sequence', start: g.sequence! };
    params.set(name, { ...gen, ...(line ? { line } : {}) });
  }

  const parseExpr = (where: PropertyKey[], src: string, value = false): Expr => {
    try {
      return value ? parseValue(src) : parseCondition(src);
    } catch (e) {
      if (e instanceof ExprError) fail(where, `cannot read ${JSON.stringify(src)}: ${e.message}`);
      throw e;
    }
  };

  const transactions: Transaction[] = [];
  for (const [name, t] of Object.entries(data.transactions)) {
    const known = new Set(params.keys());
    let afterSelect = false;
    const used = new Set<string>();
    const steps: Step[] = t.steps.map((s, i) => {
      const at = ['transactions', name, 'steps', i];
      const bound = bindNamedParams(s.sql);
      const refs = [...bound.names];
      const expect = s.expect ? { text: s.expect, expr: parseExpr([...at, 'expect'], s.expect) } : undefined;
      if (expect) refs.push(...namesIn(expect.expr).params);
      const set = Object.entries(s.set ?? {}).map(([n, text]) => {
        const expr = parseExpr([...at, 'set', n], text, true);
        refs.push(...namesIn(expr).params);
        return { name: n, text, expr };
      });
      for (const r of refs) {
        if (params.has(r)) used.add(r);
        else if (!known.has(r) && !afterSelect)
          fail(
            [...at, 'sql'],
            `:${r} is not a parameter (declared: ${[...params.keys()].join(', ') || 'none'}) nor a value an earlier step selected or set`,
          );
      }
      if (/^\s*(\(\s*)*(select|with)\b/i.test(s.sql)) afterSelect = true;
      for (const x of set) known.add(x.name);
      const line = lineOf(at);
      return {
        sql: s.sql,
        bound,
        ...(expect ? { expect } : {}),
        ...(s.refused ? { refused: s.refused } : {}),
        set,
        ...(line ? { line } : {}),
      };
    });
    const line = lineOf(['transactions', name]);
    transactions.push({
      name,
      weight: t.weight,
      ...(t.description ? { description: t.description } : {}),
      steps,
      params: [...used],
      ...(line ? { line } : {}),
    });
  }

  const txNames = new Set(transactions.map((t) => t.name));
  const invariants: Invariant[] = data.invariants.map((inv, i) => {
    const at = ['invariants', i];
    const expect = inv.expect ? { text: inv.expect, expr: parseExpr([...at, 'expect'], inv.expect) } : undefined;
    let needsBefore = false;
    if (expect) {
      const { names, params: ps } = namesIn(expect.expr);
      if (ps.size > 0) fail([...at, 'expect'], `an invariant reads no :parameter (found :${[...ps][0]})`);
      for (const n of names) {
        const [head, tail] = n.split('.') as [string, string | undefined];
        if (tail === undefined) continue;
        const h = head.toLowerCase();
        if (h === 'before') needsBefore = true;
        else if (h === 'committed' || h === 'refused' || h === 'aborted') {
          if (!txNames.has(tail))
            fail([...at, 'expect'], `${n}: there is no transaction ${tail} (transactions: ${[...txNames].join(', ')})`);
        } else fail([...at, 'expect'], `${n}: use before.COLUMN, committed.TX, refused.TX or aborted.TX`);
      }
    }
    const line = lineOf(at);
    return { name: inv.name, sql: inv.sql, ...(expect ? { expect } : {}), needsBefore, ...(line ? { line } : {}) };
  });

  return {
    name: data.name,
    ...(data.description ? { description: data.description } : {}),
    file,
    params,
    transactions,
    invariants,
  };
}
