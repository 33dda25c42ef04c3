/**
 * The built CLI, run as a new user runs it: `node bin/ddbkit.js …` in a child process, checking
 * exit codes, the text trace, the --json contract (with a zod schema) and --data counts.
 *
 * Each library validation loads library.sql into a fresh PGlite (~4 s), so the slow runs are
 * started together in beforeAll (two at a time) and each test awaits its own.
 */
import { execFile, execSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type SourceDatabase, openSource } from '../src/engines/source.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin/ddbkit.js');
const libraryDir = path.join(root, 'examples/library');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], cwd = root): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd, env, maxBuffer: 32 * 1024 * 1024, timeout: 55_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** Runs at most `limit` jobs at once; each job's promise is returned at once. */
function limited(limit: number) {
  let running = 0;
  const queue: Array<() => void> = [];
  const next = () => {
    if (running >= limit) return;
    const job = queue.shift();
    if (job) {
      running++;
      job();
    }
  };
  return <T>(work: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      queue.push(() => {
        work()
          .then(resolve, reject)
          .finally(() => {
            running--;
            next();
          });
      });
      next();
    });
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** `npm test` builds first; when run alone (or after an edit), build here. */
function ensureBuilt(): void {
  const main = path.join(root, 'dist/cli/main.js');
  if (existsSync(main) && statSync(main).mtimeMs >= newestMtime(path.join(root, 'src'))) return;
  execSync('npm run build', { cwd: root, stdio: 'pipe' });
}

// The --json contract of issue 2 (more fields allowed).
const jsonValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const checkSchema = z.object({
  rule: z.enum(['reconstruction', 'completeness', 'disjointness']),
  ok: z.boolean(),
  severity: z.enum(['error', 'warning']),
  site: z.string().optional(),
  fragments: z.array(z.string()).optional(),
  message: z.string().min(1),
  columns: z.array(z.string()).optional(),
  counterexample: z.record(z.string(), jsonValue).optional(),
});
const reportSchema = z.object({
  valid: z.boolean(),
  relations: z.array(
    z.object({
      relation: z.string(),
      reconstruction: z.string(),
      checks: z.array(checkSchema),
    }),
  ),
});
/** With --data the checks also carry their basis and row counts (fields beyond the contract). */
const dataCheckSchema = checkSchema.extend({
  basis: z.literal('data'),
  rows: z.object({
    checked: z.number().int(),
    failing: z.number().int(),
    sampleKeys: z.array(z.record(z.string(), jsonValue)),
  }),
});

function expectOneLineError(run: Run, ...mentions: string[]): void {
  expect(run.code).toBe(2);
  expect(run.stdout).toBe('');
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^ddbkit: error: /);
  expect(run.stderr).not.toMatch(/^\s+at /m);
  expect(run.stderr).not.toMatch(/internal error/);
  for (const m of mentions) expect(lines[0]).toContain(m);
}

let tmp: string;
let source: SourceDatabase;
const slow = limited(2);
const runs = {} as Record<'valid' | 'broken' | 'brokenJsonData' | 'unknownColumn' | 'demo', Promise<Run>>;

beforeAll(() => {
  ensureBuilt();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ddbkit-cli-'));
  const relativeSource = path.relative(tmp, path.join(libraryDir, 'library.sql'));
  writeFileSync(
    path.join(tmp, 'unknown-column.yaml'),
    [
      'name: bad-column',
      `source: ${relativeSource}`,
      'sites:',
      '  ENIT: { engine: sqlite, url: "memory:" }',
      'fragments:',
      '  - name: BOOK_ALL',
      '    of: BOOK',
      '    columns: [Id_book, Title, Colour]',
      '    sites: [ENIT]',
      '',
    ].join('\n'),
  );
  runs.valid = slow(() => cli(['validate', 'examples/library/design.yaml']));
  runs.broken = slow(() => cli(['validate', 'examples/library/design-broken.yaml']));
  runs.brokenJsonData = slow(() => cli(['validate', 'examples/library/design-broken.yaml', '--json', '--data']));
  runs.unknownColumn = slow(() => cli(['validate', path.join(tmp, 'unknown-column.yaml')]));
  runs.demo = slow(() => cli(['demo']));
});

afterAll(async () => {
  // Let every child process finish before removing the files they read.
  await Promise.allSettled(Object.values(runs));
  await source?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('ddbkit validate on the library example', () => {
  it('a valid design exits 0 and prints the Table VII-style trace', async () => {
    const run = await runs.valid;
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = run.stdout;
    expect(out).toContain('Validation of design university-library (examples/library/design.yaml)');
    for (const relation of ['author', 'book', 'employee', 'loan', 'student'])
      expect(out).toMatch(new RegExp(`^Fragmentation of ${relation} — \\d+ fragments — valid$`, 'm'));
    expect(out).toContain('Reconstruction aspect:');
    expect(out).toContain('Completeness aspect:');
    expect(out).toContain('Disjointness aspect:');
    expect(out).toContain(
      "employee = (EMPLOYEE_ENIT × {assignment = 'ENIT'}) ∪ (EMPLOYEE_FST × {assignment = 'FST'}) ∪ (EMPLOYEE_FSEGT × {assignment = 'FSEGT'})",
    );
    expect(out).toMatch(/STUDENT_BIB\s+= π nce, fname, lname, nb_borrow \(student\)\s+@ ENIT, FST, FSEGT \(sync replicas\)/);
    expect(out).not.toContain('✗');
    expect(out).not.toContain('[data]');
    expect(out).not.toContain('\u001b['); // no colour codes when not on a terminal
    expect(out.trimEnd().split('\n').at(-1)).toBe('VALID — 5 relations, 16 fragments: 0 errors, 0 warnings');
  });

  it('the broken design exits 1 and marks exactly the two failures of Table VII', async () => {
    const run = await runs.broken;
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    const failures = run.stdout.split('\n').filter((l) => l.includes('✗'));
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatch(/incomplete at site FST \(STUD_BIB_FST, STUD_ADMIN_FST\).*column class is stored in no fragment/);
    expect(failures[1]).toMatch(/STUD_BIB_FSEGT and STUD_ADMIN_FSEGT at site FSEGT both store column nb_borrow/);
    expect(run.stdout).toMatch(/^Fragmentation of student — 6 fragments — invalid$/m);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('INVALID — 5 relations, 18 fragments: 2 errors, 0 warnings');
  });

  it('--json --data on the broken design: the failures with witnesses, and data checks with row counts', async () => {
    const [run, src] = await Promise.all([runs.brokenJsonData, openSource('./library.sql', libraryDir)]);
    source = src;
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('');
    const raw = JSON.parse(run.stdout) as unknown;
    const report = reportSchema.parse(raw);
    expect(report.valid).toBe(false);

    const rawRelations = (raw as { relations: Array<{ relation: string; checks: Array<{ basis?: string }> }> }).relations;
    const staticFailures = report.relations.flatMap((r, i) =>
      r.checks
        .filter((c, j) => !c.ok && rawRelations[i]!.checks[j]!.basis === 'static')
        .map((c) => ({ relation: r.relation, ...c })),
    );
    expect(report.relations.map((r) => r.relation).sort()).toEqual(['author', 'book', 'employee', 'loan', 'student']);
    for (const r of report.relations) expect(r.reconstruction.startsWith(`${r.relation} = `)).toBe(true);
    expect(report.relations.find((r) => r.relation === 'loan')!.reconstruction).toBe('loan = LOAN_ENIT ∪ LOAN_FST ∪ LOAN_FSEGT');
    expect(staticFailures.map((c) => [c.relation, c.rule, c.severity, c.site, c.fragments, c.columns, c.counterexample])).toEqual(
      [
        ['student', 'completeness', 'error', 'FST', ['STUD_BIB_FST', 'STUD_ADMIN_FST'], ['class'], { institution: 'FST' }],
        [
          'student',
          'disjointness',
          'error',
          'FSEGT',
          ['STUD_BIB_FSEGT', 'STUD_ADMIN_FSEGT'],
          ['nb_borrow'],
          { institution: 'FSEGT' },
        ],
      ],
    );

    // Every relation gets a completeness and a disjointness check on the data.
    const count = async (sql: string) => Number((await source.runner.query<{ n: unknown }>(sql))[0]!.n);
    for (const r of rawRelations) {
      const data = r.checks.filter((c) => (c as { basis?: string }).basis === 'data').map((c) => dataCheckSchema.parse(c));
      expect(data.map((c) => c.rule)).toEqual(['completeness', 'disjointness']);
      const total = await count(`SELECT count(*) AS n FROM ${r.relation}`);
      expect(total).toBeGreaterThan(0);
      for (const c of data) expect(c.rows.checked).toBe(total);
      if (r.relation !== 'student') expect(data.every((c) => c.ok && c.rows.failing === 0)).toBe(true);
    }

    const student = rawRelations.find((r) => r.relation === 'student')!;
    const [completeness, disjointness] = student.checks
      .filter((c) => (c as { basis?: string }).basis === 'data')
      .map((c) => dataCheckSchema.parse(c));
    // Every FST student's class is lost; every FSEGT student's nb_borrow is stored twice.
    const fst = await count(`SELECT count(*) AS n FROM student WHERE institution = 'FST'`);
    const fsegt = await count(`SELECT count(*) AS n FROM student WHERE institution = 'FSEGT'`);
    expect(fst).toBeGreaterThan(0);
    expect(completeness).toMatchObject({ ok: false, severity: 'error' });
    expect(completeness!.rows.failing).toBe(fst);
    expect(completeness!.message).toContain(String(fst));
    expect(disjointness).toMatchObject({ ok: false, severity: 'error' });
    expect(disjointness!.rows.failing).toBe(fsegt);
    // The sample keys are real students of the school concerned.
    expect(completeness!.rows.sampleKeys.length).toBeGreaterThan(0);
    for (const key of completeness!.rows.sampleKeys) {
      expect(await count(`SELECT count(*) AS n FROM student WHERE nce = ${Number(key.nce)} AND institution = 'FST'`)).toBe(1);
    }
    for (const key of disjointness!.rows.sampleKeys) {
      expect(await count(`SELECT count(*) AS n FROM student WHERE nce = ${Number(key.nce)} AND institution = 'FSEGT'`)).toBe(1);
    }
  });
});

describe('designs that cannot be used exit 2 with one line and no stack trace', () => {
  it('a malformed design file', async () => {
    const file = path.join(tmp, 'malformed.yaml');
    writeFileSync(
      file,
      'name: x\nsource: ./library.sql\nsites:\n  A: { engine: sqlite, url: "memory:" }\nfragments:\n  - name: P\n    of: book\n   sites: [A]\n',
    );
    expectOneLineError(await cli(['validate', file]), file, 'malformed YAML');
  });

  it('an unknown key, found before the source is loaded', async () => {
    const file = path.join(tmp, 'typo.yaml');
    writeFileSync(
      file,
      'name: x\nsource: ./library.sql\nsites:\n  A: { engine: sqlite, url: "memory:" }\nfragments:\n  - name: P\n    of: book\n    colums: [id_book]\n    sites: [A]\n',
    );
    expectOneLineError(await cli(['validate', file]), file, 'fragment P', 'unknown key colums');
  });

  it('an unknown column (the source, given relative to the design file, is loaded first)', async () => {
    const run = await runs.unknownColumn;
    expectOneLineError(run, path.join(tmp, 'unknown-column.yaml'), 'fragment BOOK_ALL', 'unknown column Colour in relation book');
  });

  it('a missing design file', async () => {
    const file = path.join(tmp, 'does-not-exist.yaml');
    expectOneLineError(await cli(['validate', file]), file, 'design file not found');
  });

  it('a source .sql file that does not exist', async () => {
    const file = path.join(tmp, 'no-source.yaml');
    writeFileSync(
      file,
      'name: x\nsource: ./nowhere.sql\nsites:\n  A: { engine: sqlite, url: "memory:" }\nfragments:\n  - name: P\n    of: book\n    sites: [A]\n',
    );
    expectOneLineError(await cli(['validate', file]), path.join(tmp, 'nowhere.sql'), 'not found');
  });
});

describe('the command line itself', () => {
  it('an unknown command exits 2', async () => {
    const run = await cli(['frobnicate']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown command 'frobnicate'");
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  it('validate without a design exits 2', async () => {
    const run = await cli(['validate']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("missing required argument 'design'");
  });

  it('--help exits 0 and lists the commands', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: ddbkit');
    expect(run.stdout).toMatch(/validate \[options\] <design>/);
    expect(run.stdout).toContain('demo');
  });

  it('validate --help shows --data and --json', async () => {
    const run = await cli(['validate', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--data');
    expect(run.stdout).toContain('--json');
  });

  it('--version prints the package version', async () => {
    const run = await cli(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('demo exits 0 and validates both examples, the broken one included', async () => {
    const run = await runs.demo;
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = run.stdout;
    expect(out).toContain('University library');
    expect(out).toContain('e-commerce');
    expect(out).toContain('Design university-library (');
    expect(out).toContain('Design university-library-broken (');
    expect(out).toContain('Design kenya-ecommerce (');
    const verdicts = out.split('\n').filter((l) => /^(VALID|INVALID) — /.test(l));
    expect(verdicts.map((l) => l.split(' — ')[0])).toEqual(['VALID', 'INVALID', 'VALID']);
    // The demo validates with --data: each relation of each design gets two [data] lines.
    const dataLines = out.split('\n').filter((l) => l.includes('[data]'));
    expect(dataLines).toHaveLength(2 * (5 + 5 + 6));
    expect(dataLines.filter((l) => l.includes('✗'))).toEqual([
      expect.stringMatching(/\[data\] \d+ rows have a column stored in no fragment \(keys \d+/),
      expect.stringMatching(/\[data\] \d+ rows of student have a non-key column stored by two fragments \(keys \d+/),
    ]);
    expect(out).toMatch(/\[data\] all \d+ rows of loan are stored, every column of each/);
  });
});
