/**
 * Evaluating a reconstruction expression as validation prints it (`R = (F1 × {c = 'x'}) ∪ F2`,
 * `R = F1 ⋈ (F2 ∪ F3)`, `R = ∅`) on a small instance, to check that it really rebuilds the
 * relation: each fragment holds the rows whose membership is TRUE, projected on its columns;
 * `× {…}` adds constant columns, `⋈` is the natural join, `∪` the set union.
 */
import type { ResolvedRelation } from '../../src/design/resolve.js';
import type { Literal } from '../../src/predicate/domain.js';
import { type Key, domainOf, evaluate } from '../../src/predicate/index.js';

export type Value = string | number | boolean | null;
export type Tuple = Record<string, Value>;

const canonical = (t: Tuple) =>
  JSON.stringify(
    Object.keys(t)
      .sort()
      .map((k) => [k, t[k]]),
  );

function keyOf(rr: ResolvedRelation, column: string, value: Value): Key | null {
  if (value === null) return null;
  const v = rr.variables.get(column);
  if (!v) throw new Error(`no column ${column} in ${rr.relation.name}`);
  const lit: Literal =
    typeof value === 'number'
      ? { kind: 'number', text: String(value) }
      : typeof value === 'boolean'
        ? { kind: 'boolean', value }
        : { kind: 'string', text: value };
  return domainOf(v.type).fromLiteral(lit).key;
}

/** The content of each (non-derived) fragment of `rr` on the instance `rows`. */
export function fragmentContents(rr: ResolvedRelation, rows: Tuple[]): Map<string, Tuple[]> {
  const out = new Map<string, Tuple[]>();
  for (const f of rr.fragments) {
    if (f.parent) throw new Error('fragmentContents does not follow foreign keys');
    const held = rows.filter((row) => {
      const keys = new Map<string, Key | null>();
      for (const [column, value] of Object.entries(row)) keys.set(rr.variables.get(column)!.id, keyOf(rr, column, value));
      return evaluate(f.membership, keys) === true;
    });
    out.set(
      f.name,
      held.map((row) => Object.fromEntries(f.columns.map((c) => [c, row[c]!]))),
    );
  }
  return out;
}

function parseConstant(text: string): Value {
  const t = text.trim();
  if (t === 'NULL') return null;
  if (t === 'TRUE') return true;
  if (t === 'FALSE') return false;
  if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
  if (/^'?\d{4}-\d\d-\d\d/.test(t)) return t;
  return Number(t);
}

type Rel = Tuple[] & { columns?: string[] };

function withColumns(rows: Tuple[], columns: string[]): Rel {
  const r = rows as Rel;
  r.columns = columns;
  return r;
}

function naturalJoin(a: Rel, b: Rel): Rel {
  const common = (a.columns ?? []).filter((c) => (b.columns ?? []).includes(c));
  const columns = [...new Set([...(a.columns ?? []), ...(b.columns ?? [])])];
  const rows: Tuple[] = [];
  for (const x of a) for (const y of b) if (common.every((c) => x[c] !== null && x[c] === y[c])) rows.push({ ...x, ...y });
  return withColumns(rows, columns);
}

function union(a: Rel, b: Rel): Rel {
  const ca = [...(a.columns ?? [])].sort().join(',');
  const cb = [...(b.columns ?? [])].sort().join(',');
  if (ca !== cb) throw new Error(`union of relations with different columns: (${ca}) ∪ (${cb})`);
  const seen = new Set(a.map(canonical));
  return withColumns([...a, ...b.filter((t) => !seen.has(canonical(t)))], a.columns ?? []);
}

/** Evaluates the right-hand side of `R = …` over the fragments' contents. */
export function evaluateReconstruction(
  expression: string,
  contents: Map<string, Tuple[]>,
  columnsOf: (fragment: string) => string[],
): Tuple[] {
  const rhs = expression.slice(expression.indexOf(' = ') + 3).trim();
  let i = 0;
  const ws = () => {
    while (rhs[i] === ' ') i++;
  };
  const primary = (): Rel => {
    ws();
    let r: Rel;
    if (rhs[i] === '∅') {
      i++;
      r = withColumns([], []);
    } else if (rhs[i] === '(') {
      i++;
      r = expr();
      ws();
      if (rhs[i] !== ')') throw new Error(`expected ) at ${i} in ${rhs}`);
      i++;
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rhs.slice(i));
      if (!m) throw new Error(`expected a fragment name at ${i} in ${rhs}`);
      i += m[0].length;
      const rows = contents.get(m[0]);
      if (!rows) throw new Error(`unknown fragment ${m[0]}`);
      r = withColumns(
        rows.map((t) => ({ ...t })),
        columnsOf(m[0]),
      );
    }
    ws();
    if (rhs[i] === '×') {
      i++;
      ws();
      const end = rhs.indexOf('}', i);
      const body = rhs.slice(i + 1, end);
      i = end + 1;
      const consts = body.split(/, (?=[A-Za-z_][A-Za-z0-9_]* = )/).map((part) => {
        const [column, ...value] = part.split(' = ');
        return [column!.trim(), parseConstant(value.join(' = '))] as const;
      });
      r = withColumns(
        r.map((t) => ({ ...t, ...Object.fromEntries(consts) })),
        [...(r.columns ?? []), ...consts.map(([c]) => c)],
      );
    }
    return r;
  };
  const expr = (): Rel => {
    let r = primary();
    for (;;) {
      ws();
      const op = rhs[i];
      if (op !== '⋈' && op !== '∪') return r;
      i++;
      const next = primary();
      r = op === '⋈' ? naturalJoin(r, next) : union(r, next);
    }
  };
  const result = expr();
  ws();
  if (i !== rhs.length) throw new Error(`unexpected ${rhs.slice(i)} in ${rhs}`);
  return result;
}

/** Whether the reconstruction printed for `rr` rebuilds `rows` exactly (as sets of full rows). */
export function rebuilds(rr: ResolvedRelation, reconstruction: string, rows: Tuple[]): { ok: boolean; got: Tuple[] } {
  const contents = fragmentContents(rr, rows);
  const columnsOf = (name: string) => rr.fragments.find((f) => f.name === name)!.columns;
  const got = evaluateReconstruction(reconstruction, contents, columnsOf);
  const want = new Set(rows.map(canonical));
  const have = new Set(got.map(canonical));
  const ok = want.size === have.size && [...want].every((t) => have.has(t));
  return { ok, got };
}
