/**
 * Canonical values: every connector returns rows in one spelling so that the same source row
 * reads the same from every engine (fragments are compared with the source by checksum).
 *
 * | family       | canonical JS value                                                          |
 * |--------------|-----------------------------------------------------------------------------|
 * | integer      | `number`; beyond ±(2^53−1) a decimal `string` (never a bigint, never rounded) |
 * | decimal      | `string`, plain notation, exactly `scale` digits after the point when known |
 * | float        | `number` (NaN / ±Infinity as the numbers)                                   |
 * | boolean      | `boolean`                                                                   |
 * | date         | `'YYYY-MM-DD'`                                                              |
 * | timestamp    | `'YYYY-MM-DDTHH:MM:SS[.ffffff]'`, fraction without trailing zeros           |
 * | timestamptz  | the same in UTC with a `Z` suffix                                           |
 * | time         | `'HH:MM:SS[.ffffff]'`, fraction without trailing zeros                      |
 * | text, json   | `string` as stored                                                          |
 * | uuid         | lower-case `string` with hyphens                                            |
 * | binary       | `Buffer`                                                                    |
 * | NULL         | `null`                                                                      |
 *
 * The same forms are what `bulkLoad` accepts (numbers, bigints and strings for integers are all
 * accepted on the way in).
 */
import type { ColumnType, TypeFamily } from '../catalog/types.js';

/** What a connector needs to know about a column to read or write its values. */
export interface ValueType {
  family: TypeFamily;
  /** Decimal scale, when declared: decimals are printed with exactly this many fraction digits. */
  scale?: number;
}

export function valueTypeOf(type: ColumnType): ValueType {
  return type.scale === undefined ? { family: type.family } : { family: type.family, scale: type.scale };
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export function canonicalInteger(v: unknown): number | string {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : BigInt(Math.trunc(v)).toString();
  const b = typeof v === 'bigint' ? v : BigInt(String(v).trim());
  return b <= MAX_SAFE && b >= -MAX_SAFE ? Number(b) : b.toString();
}

/** Pads or trims (only zeros) the fraction of a plain decimal string to `scale` digits. */
function withScale(text: string, scale: number | undefined): string {
  if (scale === undefined) return text;
  const dot = text.indexOf('.');
  const int = dot < 0 ? text : text.slice(0, dot);
  let frac = dot < 0 ? '' : text.slice(dot + 1);
  if (frac.length < scale) frac = frac.padEnd(scale, '0');
  else if (frac.length > scale && /^0*$/.test(frac.slice(scale))) frac = frac.slice(0, scale);
  return frac.length > 0 ? `${int}.${frac}` : int;
}

export function canonicalDecimal(v: unknown, scale?: number): string {
  if (typeof v === 'number') {
    // Only engines without an exact decimal (SQLite REAL) hand back numbers; the dialect refuses
    // precisions above 15 digits there, so rounding the double to `scale` digits is exact.
    return scale === undefined ? plainNumber(v) : v.toFixed(scale);
  }
  if (typeof v === 'bigint') return withScale(v.toString(), scale);
  return withScale(String(v).trim(), scale);
}

/** A number in plain (not exponent) notation. */
function plainNumber(n: number): string {
  const s = String(n);
  if (!/e/i.test(s)) return s;
  return n.toFixed(20).replace(/\.?0+$/, '');
}

export function canonicalBoolean(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'bigint') return v !== 0n;
  const t = String(v).trim().toLowerCase();
  if (t === 't' || t === 'true' || t === '1' || t === 'y' || t === 'yes' || t === 'on') return true;
  if (t === 'f' || t === 'false' || t === '0' || t === 'n' || t === 'no' || t === 'off') return false;
  throw new TypeError(`not a boolean: ${String(v)}`);
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

function trimFraction(frac: string | undefined): string {
  const f = (frac ?? '').replace(/0+$/, '');
  return f.length > 0 ? `.${f}` : '';
}

const TS = /^(\d{4,}-\d{2}-\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?$/i;

function isoOfDate(d: Date, utc: boolean): string {
  const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const ms = d.getUTCMilliseconds();
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${ms ? trimFraction(pad(ms, 3)) : ''}`;
  return `${date}T${time}${utc ? 'Z' : ''}`;
}

export function canonicalDate(v: unknown): string {
  if (v instanceof Date) return isoOfDate(v, false).slice(0, 10);
  const s = String(v).trim();
  return s.length > 10 && /^\d{4}-\d{2}-\d{2}/.test(s) ? s.slice(0, 10) : s;
}

/**
 * Timestamps, with or without zone. A zone-less value given for a timestamptz is read as UTC
 * (ddbkit's sessions run in UTC, and MariaDB stores timestamptz as a UTC DATETIME).
 */
export function canonicalTimestamp(v: unknown, zoned: boolean): string {
  if (v instanceof Date) return isoOfDate(v, zoned);
  const s = String(v).trim();
  const m = TS.exec(s);
  if (!m) return s; // infinity and other spellings pass through unchanged
  const [, date, hh = '00', mi = '00', ss = '00', frac, zone] = m;
  const time = `${hh}:${mi}:${ss}${trimFraction(frac)}`;
  if (!zoned) return `${date}T${time}`;
  if (!zone || /^(Z|[+-]00(:?00(:?00)?)?)$/i.test(zone)) return `${date}T${time}Z`;
  // A non-UTC offset: shift to UTC. Date keeps milliseconds only, so carry the fraction aside.
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(/:/g, '');
  const offsetSec =
    sign * (Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2, 4) || 0) * 60 + Number(digits.slice(4, 6) || 0));
  const base = Date.parse(`${date}T${hh}:${mi}:${ss}Z`) - offsetSec * 1000;
  const shifted = isoOfDate(new Date(base), false);
  return `${shifted}${trimFraction(frac)}Z`;
}

export function canonicalTime(v: unknown): string {
  const s = String(v).trim();
  const m = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?$/.exec(s);
  if (!m) return s;
  return `${pad(Number(m[1]))}:${m[2]}:${m[3] ?? '00'}${trimFraction(m[4])}`;
}

export function canonicalBinary(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  const s = String(v);
  if (/^\\x[0-9a-f]*$/i.test(s)) return Buffer.from(s.slice(2), 'hex');
  return Buffer.from(s, 'utf8');
}

/** Brings a value read from (or to be written to) any engine into its canonical form. */
export function canonicalValue(v: unknown, type: ValueType): unknown {
  if (v === null || v === undefined) return null;
  switch (type.family) {
    case 'integer':
      return canonicalInteger(v);
    case 'decimal':
      return canonicalDecimal(v, type.scale);
    case 'float':
      return typeof v === 'number' ? v : Number(v);
    case 'boolean':
      return canonicalBoolean(v);
    case 'date':
      return canonicalDate(v);
    case 'timestamp':
      return canonicalTimestamp(v, false);
    case 'timestamptz':
      return canonicalTimestamp(v, true);
    case 'time':
      return canonicalTime(v);
    case 'uuid':
      return String(v).toLowerCase();
    case 'binary':
      return canonicalBinary(v);
    case 'text':
    case 'json':
    case 'other':
      return typeof v === 'string' ? v : typeof v === 'object' && !(v instanceof Uint8Array) ? JSON.stringify(v) : String(v);
  }
}

/** A loose value from a driver when nothing is known of its column: bigints made canonical integers. */
export function looseValue(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === 'bigint') return canonicalInteger(v);
  if (v instanceof Uint8Array) return canonicalBinary(v);
  return v;
}

/**
 * Text formats for bulk loading (PostgreSQL COPY text format and MariaDB LOAD DATA defaults share
 * it): tab-separated, `\N` for NULL, backslash escapes for backslash, tab, newline and CR.
 */
export function escapeTsv(s: string): string {
  // Fast path: most values need no escaping.
  if (!/[\\\t\n\r]/.test(s)) return s;
  return s.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** Writes one value as its canonical text, the engine's `spell` hook choosing booleans, binary… */
export type ValueSpeller = (v: unknown, type: ValueType) => string;

/**
 * Families whose spelling never holds a tab, newline, carriage return or backslash (digits, signs,
 * dates, `t`/`f`…), so encoding skips the escape scan for them. Text-like and binary (`\\x…` in
 * COPY) values are always escaped.
 */
const NEVER_ESCAPED: ReadonlySet<TypeFamily> = new Set<TypeFamily>([
  'integer',
  'float',
  'decimal',
  'boolean',
  'date',
  'timestamp',
  'timestamptz',
  'time',
  'uuid',
]);

/**
 * Encodes a batch of rows as TSV lines in one Buffer (one string and one allocation per batch, not
 * per row or value): the client-side hot loop of every COPY / LOAD DATA.
 */
export function encodeTsvBatch(rows: unknown[][], types: readonly ValueType[], spell: ValueSpeller): Buffer {
  const width = types.length;
  const escape = types.map((t) => !NEVER_ESCAPED.has(t.family));
  let out = '';
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    for (let c = 0; c < width; c++) {
      const v = row[c];
      if (v === null || v === undefined) out += '\\N';
      else {
        const text = spell(v, types[c]!);
        out += escape[c] ? escapeTsv(text) : text;
      }
      out += c + 1 < width ? '\t' : '\n';
    }
  }
  return Buffer.from(out, 'utf8');
}

/** Canonical text of a non-null value (the spelling PostgreSQL also accepts on input). */
export function canonicalText(v: unknown, type: ValueType): string {
  // Fast paths for values already canonical (what a source stream yields): bulk loads spend
  // most of their client time here, and the general path runs a regular expression per value.
  if (typeof v === 'string') {
    switch (type.family) {
      case 'text':
      case 'json':
        return v;
      case 'date':
        if (v.length === 10) return v;
        break;
      case 'decimal': {
        const dot = v.indexOf('.');
        if (type.scale !== undefined && (dot < 0 ? type.scale === 0 : v.length - dot - 1 === type.scale)) return v;
        break;
      }
      case 'timestamp':
        if (v.length === 19 && v.charCodeAt(10) === 84 /* T */) return v;
        break;
    }
  } else if (typeof v === 'number' && type.family === 'integer' && Number.isSafeInteger(v)) {
    return String(v);
  }
  const c = canonicalValue(v, type);
  if (typeof c === 'string') return c;
  if (typeof c === 'boolean') return c ? 't' : 'f';
  if (Buffer.isBuffer(c)) return `\\x${c.toString('hex')}`;
  return String(c);
}

/** Rows in a chunk of line-oriented load text (COPY, LOAD DATA): its newline bytes. */
export function countLines(chunk: Buffer): number {
  let n = 0;
  for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) n++;
  return n;
}
