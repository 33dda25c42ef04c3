/**
 * One normaliser for both sides of the differential suite (ddbkit's answer and the source's), and
 * the comparison of two results as multisets or as sequences.
 *
 * Normal form of a value:
 * - NULL → null; booleans as is; binary → 'x:<hex>';
 * - numbers, bigints and numeric strings (PostgreSQL numeric, DuckDB decimal: exact strings) →
 *   JS numbers, compared with a small relative tolerance (AVG is a double in DuckDB and an exact
 *   numeric in PostgreSQL; extract() is numeric in PostgreSQL and bigint in DuckDB);
 * - timestamps → 'YYYY-MM-DDTHH:MM:SS[.fff]', fraction zeros trimmed; a zoned one (timestamptz)
 *   shifted to UTC and suffixed 'Z', so a timestamptz never equals a zone-less timestamp (the
 *   JSON output of the two differs, and so do their types);
 * - dates stay 'YYYY-MM-DD' (a date is NOT equal to a midnight timestamp);
 * - other strings as they are.
 * Being value-driven, the normaliser would equate a text '42' with the number 42: none of the
 * examples' text columns hold such values.
 */
export type Norm = null | number | string | boolean;

const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

function trimFraction(f: string | undefined): string {
  const t = (f ?? '').replace(/0+$/, '');
  return t ? `.${t}` : '';
}

function normaliseTimestamp(s: string): string | undefined {
  const m = TIMESTAMP.exec(s);
  if (!m) return undefined;
  const [, date, hh, mi, ss = '00', frac, zone] = m;
  if (!zone) return `${date}T${hh}:${mi}:${ss}${trimFraction(frac)}`;
  if (/^(Z|[+-]00(:?00)?)$/i.test(zone)) return `${date}T${hh}:${mi}:${ss}${trimFraction(frac)}Z`;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const offset = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || 0));
  const utc = new Date(Date.parse(`${date}T${hh}:${mi}:${ss}Z`) - offset * 60_000).toISOString().slice(0, 19);
  return `${utc}${trimFraction(frac)}Z`;
}

export function normaliseValue(v: unknown): Norm {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return Object.is(v, -0) ? 0 : v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Uint8Array) return `x:${Buffer.from(v).toString('hex')}`;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'string') {
    const s = v.trim();
    if (NUMERIC.test(s)) return Number(s);
    return normaliseTimestamp(s) ?? v;
  }
  return JSON.stringify(v);
}

export function normaliseRows(rows: readonly unknown[][]): Norm[][] {
  return rows.map((r) => r.map(normaliseValue));
}

const REL = 1e-9;

export function sameValue(a: Norm, b: Norm): boolean {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
    if (a === b) return true;
    return Math.abs(a - b) <= REL * Math.max(1, Math.abs(a), Math.abs(b));
  }
  return a === b;
}

function sameRow(a: Norm[], b: Norm[]): boolean {
  return a.length === b.length && a.every((v, i) => sameValue(v, b[i]!));
}

/** A sort key where numbers that agree within the tolerance (almost always) print the same. */
function sortKey(row: Norm[]): string {
  return JSON.stringify(row.map((v) => (typeof v === 'number' ? (Number.isInteger(v) ? `n${v}` : `n${v.toPrecision(12)}`) : v)));
}

const show = (row: Norm[] | undefined): string => (row === undefined ? '(no row)' : JSON.stringify(row));

/**
 * Undefined when `actual` equals `expected` (as multisets, or as sequences when `ordered`),
 * otherwise a short description of the difference.
 */
export function differenceOf(expected: Norm[][], actual: Norm[][], ordered: boolean): string | undefined {
  if (ordered) {
    const n = Math.max(expected.length, actual.length);
    for (let i = 0; i < n; i++) {
      if (expected[i] === undefined || actual[i] === undefined || !sameRow(expected[i]!, actual[i]!)) {
        return `rows differ at position ${i} (source ${expected.length} rows, ddbkit ${actual.length}): source ${show(expected[i])}, ddbkit ${show(actual[i])}`;
      }
    }
    return undefined;
  }
  const e = [...expected].sort((x, y) => (sortKey(x) < sortKey(y) ? -1 : sortKey(x) > sortKey(y) ? 1 : 0));
  const a = [...actual].sort((x, y) => (sortKey(x) < sortKey(y) ? -1 : sortKey(x) > sortKey(y) ? 1 : 0));
  if (e.length === a.length && e.every((row, i) => sameRow(row, a[i]!))) return undefined;
  // Not aligned after sorting: match greedily (tolerance-aware) to name what is missing or extra.
  const unmatched = [...a];
  const missing: Norm[][] = [];
  for (const row of e) {
    const i = unmatched.findIndex((x) => sameRow(row, x));
    if (i >= 0) unmatched.splice(i, 1);
    else missing.push(row);
  }
  if (missing.length === 0 && unmatched.length === 0) return undefined;
  return (
    `multisets differ (source ${expected.length} rows, ddbkit ${actual.length}): ` +
    `${missing.length} source rows not in ddbkit's answer, e.g. ${missing.slice(0, 3).map(show).join(' ')}; ` +
    `${unmatched.length} ddbkit rows not in the source's answer, e.g. ${unmatched.slice(0, 3).map(show).join(' ')}`
  );
}
