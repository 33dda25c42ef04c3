/**
 * The small condition language of workload files: `expect:` on a step (`rows > 0`, `stock > 0`,
 * `nb_borrow < 5 and rows = 1`), `expect:` on an invariant (`loans = before.loans + committed.borrow`)
 * and `set:` values (`price * qty`).
 *
 *   condition := disjunct ('or' disjunct)*          disjunct := atom ('and' atom)*
 *   atom      := 'not' atom | '(' condition ')' | sum (op sum)?        op := = == != <> < <= > >=
 *   sum       := product (('+' | '-') product)*     product := unary (('*' | '/') unary)*
 *   unary     := '-' unary | number | 'text' | null | true | false | name | name.name | :param | '(' sum ')'
 *
 * Names are looked up by the caller (a column of the step's first row, `rows`, a parameter,
 * `before.x`, `committed.tx`…). Numbers compare as numbers (numeric strings and bigints included),
 * anything else as text; a comparison with NULL is false, as in SQL.
 */
import { holds } from '../predicate/evaluate.js';

export type Expr =
  | { kind: 'num'; value: number }
  | { kind: 'str'; value: string }
  | { kind: 'null' }
  | { kind: 'bool'; value: boolean }
  | { kind: 'name'; name: string }
  | { kind: 'param'; name: string }
  | { kind: 'neg'; operand: Expr }
  | { kind: 'arith'; op: '+' | '-' | '*' | '/'; left: Expr; right: Expr }
  | { kind: 'cmp'; op: '=' | '<>' | '<' | '<=' | '>' | '>='; left: Expr; right: Expr }
  | { kind: 'and' | 'or'; left: Expr; right: Expr }
  | { kind: 'not'; operand: Expr };

export class ExprError extends Error {
  override name = 'ExprError';
}

type Token = { t: 'num' | 'str' | 'name' | 'param' | 'op' | 'punct'; v: string; at: number };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const rest = src.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^\d+(\.\d+)?([eE][+-]?\d+)?/.exec(rest))) out.push({ t: 'num', v: m[0], at: i });
    else if ((m = /^'((?:[^']|'')*)'/.exec(rest))) out.push({ t: 'str', v: m[1]!.replace(/''/g, "'"), at: i });
    else if ((m = /^:[A-Za-z_][A-Za-z0-9_]*/.exec(rest))) out.push({ t: 'param', v: m[0].slice(1), at: i });
    else if ((m = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?/.exec(rest))) out.push({ t: 'name', v: m[0], at: i });
    else if ((m = /^(<=|>=|<>|!=|==|=|<|>|\+|-|\*|\/)/.exec(rest))) out.push({ t: 'op', v: m[0], at: i });
    else if (c === '(' || c === ')') out.push({ t: 'punct', v: c, at: i });
    else throw new ExprError(`unexpected character ${JSON.stringify(c)} at position ${i + 1}`);
    i += m ? m[0].length : 1;
  }
  return out;
}

class Parser {
  private i = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly src: string,
  ) {}

  private peek(): Token | undefined {
    return this.tokens[this.i];
  }
  private keyword(word: string): boolean {
    const t = this.peek();
    if (t?.t === 'name' && t.v.toLowerCase() === word) {
      this.i++;
      return true;
    }
    return false;
  }
  private fail(what: string): never {
    const t = this.peek();
    throw new ExprError(
      t ? `${what} at ${JSON.stringify(this.src.slice(t.at))}` : `${what} at the end of ${JSON.stringify(this.src)}`,
    );
  }

  end(): void {
    if (this.peek()) this.fail('unexpected text');
  }

  condition(): Expr {
    let left = this.disjunct();
    while (this.keyword('or')) left = { kind: 'or', left, right: this.disjunct() };
    return left;
  }
  private disjunct(): Expr {
    let left = this.atom();
    while (this.keyword('and')) left = { kind: 'and', left, right: this.atom() };
    return left;
  }
  private atom(): Expr {
    if (this.keyword('not')) return { kind: 'not', operand: this.atom() };
    // '(' may open a condition or an arithmetic group: try the condition first.
    if (this.peek()?.v === '(' && this.peek()?.t === 'punct') {
      const save = this.i;
      this.i++;
      try {
        const inner = this.condition();
        if (this.peek()?.v === ')') {
          this.i++;
          if (inner.kind === 'cmp' || inner.kind === 'and' || inner.kind === 'or' || inner.kind === 'not') return inner;
        }
      } catch {
        // not a condition: an arithmetic group
      }
      this.i = save;
    }
    const left = this.sum();
    const t = this.peek();
    if (t?.t === 'op' && ['=', '==', '!=', '<>', '<', '<=', '>', '>='].includes(t.v)) {
      this.i++;
      const op = t.v === '==' ? '=' : t.v === '!=' ? '<>' : (t.v as '=' | '<>' | '<' | '<=' | '>' | '>=');
      return { kind: 'cmp', op, left, right: this.sum() };
    }
    return left;
  }
  sum(): Expr {
    let left = this.product();
    for (let t = this.peek(); t?.t === 'op' && (t.v === '+' || t.v === '-'); t = this.peek()) {
      this.i++;
      left = { kind: 'arith', op: t.v, left, right: this.product() };
    }
    return left;
  }
  private product(): Expr {
    let left = this.unary();
    for (let t = this.peek(); t?.t === 'op' && (t.v === '*' || t.v === '/'); t = this.peek()) {
      this.i++;
      left = { kind: 'arith', op: t.v, left, right: this.unary() };
    }
    return left;
  }
  private unary(): Expr {
    const t = this.peek();
    if (!t) this.fail('a value is missing');
    this.i++;
    if (t.t === 'op' && t.v === '-') return { kind: 'neg', operand: this.unary() };
    if (t.t === 'num') return { kind: 'num', value: Number(t.v) };
    if (t.t === 'str') return { kind: 'str', value: t.v };
    if (t.t === 'param') return { kind: 'param', name: t.v };
    if (t.t === 'punct' && t.v === '(') {
      const inner = this.sum();
      if (this.peek()?.v !== ')') this.fail('")" expected');
      this.i++;
      return inner;
    }
    if (t.t === 'name') {
      const lower = t.v.toLowerCase();
      if (lower === 'null') return { kind: 'null' };
      if (lower === 'true' || lower === 'false') return { kind: 'bool', value: lower === 'true' };
      if (['and', 'or', 'not'].includes(lower)) {
        this.i--;
        this.fail('a value is missing');
      }
      return { kind: 'name', name: t.v };
    }
    this.i--;
    this.fail('a value is expected');
  }
}

/** Parses a condition (or a plain value, for `set:`); throws {@link ExprError}. */
export function parseCondition(src: string): Expr {
  const p = new Parser(tokenize(src), src);
  const e = p.condition();
  p.end();
  return e;
}

export function parseValue(src: string): Expr {
  const p = new Parser(tokenize(src), src);
  const e = p.sum();
  p.end();
  return e;
}

/** The names and :params an expression reads. */
export function namesIn(e: Expr, out: { names: Set<string>; params: Set<string> } = { names: new Set(), params: new Set() }) {
  switch (e.kind) {
    case 'name':
      out.names.add(e.name);
      break;
    case 'param':
      out.params.add(e.name);
      break;
    case 'neg':
    case 'not':
      namesIn(e.operand, out);
      break;
    case 'arith':
    case 'cmp':
    case 'and':
    case 'or':
      namesIn(e.left, out);
      namesIn(e.right, out);
      break;
    default:
  }
  return out;
}

export interface Scope {
  /** A name's value; `undefined` when the name is unknown (an error), `null` for SQL NULL. */
  name(name: string): unknown;
  param(name: string): unknown;
}

function numeric(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return undefined;
  if (typeof v === 'string' && /^\s*-?\d+(\.\d+)?([eE][+-]?\d+)?\s*$/.test(v)) return Number(v);
  return undefined;
}

function valueText(v: unknown): string {
  if (v instanceof Date) return v.toISOString().slice(0, v.getUTCHours() || v.getUTCMinutes() || v.getUTCSeconds() ? 19 : 10);
  return String(v);
}

/** Text ordered by code point, as the C collation. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function evaluate(e: Expr, scope: Scope): unknown {
  switch (e.kind) {
    case 'num':
    case 'str':
    case 'bool':
      return e.value;
    case 'null':
      return null;
    case 'name': {
      const v = scope.name(e.name);
      if (v === undefined) throw new ExprError(`unknown name ${e.name}`);
      return v;
    }
    case 'param': {
      const v = scope.param(e.name);
      if (v === undefined) throw new ExprError(`unknown parameter :${e.name}`);
      return v;
    }
    case 'neg': {
      const v = evaluate(e.operand, scope);
      if (v === null) return null;
      const n = numeric(v);
      if (n === undefined) throw new ExprError(`cannot negate ${JSON.stringify(v)}`);
      return -n;
    }
    case 'arith': {
      const [l, r] = [evaluate(e.left, scope), evaluate(e.right, scope)];
      if (l === null || r === null) return null;
      const [a, b] = [numeric(l), numeric(r)];
      if (a === undefined || b === undefined)
        throw new ExprError(`${e.op} needs numbers, not ${JSON.stringify(l)} and ${JSON.stringify(r)}`);
      const v = e.op === '+' ? a + b : e.op === '-' ? a - b : e.op === '*' ? a * b : a / b;
      // Decimal arithmetic on money: keep 10 significant decimals, not binary noise (0.1 + 0.2).
      return Math.round(v * 1e10) / 1e10;
    }
    case 'cmp': {
      const [l, r] = [evaluate(e.left, scope), evaluate(e.right, scope)];
      if (l === null || r === null) return false;
      const [a, b] = [numeric(l), numeric(r)];
      const c =
        a !== undefined && b !== undefined
          ? Math.sign(a - b)
          : typeof l === 'boolean' || typeof r === 'boolean'
            ? Number(l === true) - Number(r === true)
            : compareText(valueText(l), valueText(r));
      return holds(e.op, c);
    }
    case 'and':
      return evaluate(e.left, scope) === true && evaluate(e.right, scope) === true;
    case 'or':
      return evaluate(e.left, scope) === true || evaluate(e.right, scope) === true;
    case 'not':
      return evaluate(e.operand, scope) !== true;
  }
}

/** Renders an expression back to text, with the values it read, for messages ("stock > 0 with stock = 0"). */
export function explainValues(e: Expr, scope: Scope): string {
  const { names, params } = namesIn(e);
  const parts: string[] = [];
  for (const n of names) {
    let v: unknown;
    try {
      v = scope.name(n);
    } catch {
      v = undefined;
    }
    parts.push(`${n} = ${v === undefined ? '(absent)' : v === null ? 'NULL' : valueText(v)}`);
  }
  for (const n of params) parts.push(`:${n} = ${valueText(scope.param(n))}`);
  return parts.join(', ');
}
