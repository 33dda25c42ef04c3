/**
 * Value domains: how the values of each type family are ordered, which one follows which, what
 * a SQL literal means for a column of that type, and how a value is written back as JSON or SQL.
 *
 * Every value is kept as a *key* that compares exactly:
 * - discrete families (integers, decimals with a declared scale, dates, timestamps, times, booleans)
 *   use a bigint: the integer, the decimal scaled by 10^scale, days or microseconds since the epoch;
 * - dense families (floats, numeric without a scale) use an exact {@link Decimal};
 * - text-like families use the string itself, ordered by code point (the C collation).
 */
import type { ColumnType } from '../catalog/types.js';
import {
  type Decimal,
  addInteger,
  compareDecimal,
  decimalToString,
  midpoint,
  parseDecimal,
  scaledToString,
  toScaledInteger,
} from './decimal.js';

export type Key = bigint | Decimal | string;

/** A literal as written in a predicate, before it is given the type of the column it meets. */
export type Literal =
  | { kind: 'number'; text: string }
  | { kind: 'string'; text: string; castTo?: string }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' };

/**
 * What a literal becomes in a domain: an exact key, or, for a number that falls between two
 * representable values (`int_col < 3.5`), the representable value just below it.
 */
export interface KeyOf {
  key: Key;
  exact: boolean;
}

export class LiteralTypeError extends Error {}

export interface Domain {
  readonly family: ColumnType['family'];
  /** Whether `<`, `>`, BETWEEN … are meaningful (json, bytea and uuid only compare for equality here). */
  readonly ordered: boolean;
  /** discrete: every value has an immediate successor and predecessor. */
  readonly discrete: boolean;
  /** text: a value has an immediate successor (s + U+0001) but not always a predecessor. */
  readonly successorOnly: boolean;
  readonly min?: Key;
  readonly max?: Key;
  compare(a: Key, b: Key): number;
  succ(k: Key): Key;
  pred(k: Key): Key;
  /** A value strictly between a < b (dense domains only). */
  between(a: Key, b: Key): Key;
  /** A value strictly above / below k (unbounded side of a dense or text domain). */
  above(k: Key): Key;
  below(k: Key): Key;
  /** Values worth trying first when choosing a witness: readable ones. */
  niceValues(): Key[];
  fromLiteral(lit: Literal): KeyOf;
  toJson(k: Key): string | number | boolean;
  toSql(k: Key): string;
}

const cmpBig = (a: Key, b: Key) => ((a as bigint) < (b as bigint) ? -1 : (a as bigint) > (b as bigint) ? 1 : 0);
const cmpStr = (a: Key, b: Key) => ((a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0);
const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

function describe(lit: Literal): string {
  switch (lit.kind) {
    case 'number':
      return lit.text;
    case 'string':
      return sqlString(lit.text);
    case 'boolean':
      return String(lit.value).toUpperCase();
    case 'null':
      return 'NULL';
  }
}

function mismatch(lit: Literal, type: ColumnType, why?: string): LiteralTypeError {
  return new LiteralTypeError(`${describe(lit)} is not a value of type ${type.sqlType}${why ? ` (${why})` : ''}`);
}

/** A number literal, or a string literal that reads as one (PostgreSQL coerces an untyped string literal). */
function decimalOf(lit: Literal, type: ColumnType, allowString: boolean): Decimal {
  if (lit.kind === 'number' || (allowString && lit.kind === 'string')) {
    const d = parseDecimal(lit.text);
    if (d) return d;
  }
  throw mismatch(lit, type);
}

/** Integers and decimals with a declared scale: a bigint counting units of 10^-scale. */
function scaledDomain(type: ColumnType, scale: number, min: bigint, max: bigint): Domain {
  return {
    family: type.family,
    ordered: true,
    discrete: true,
    successorOnly: false,
    min,
    max,
    compare: cmpBig,
    succ: (k) => (k as bigint) + 1n,
    pred: (k) => (k as bigint) - 1n,
    between: () => {
      throw new Error('between() on a discrete domain');
    },
    above: (k) => (k as bigint) + 1n,
    below: (k) => (k as bigint) - 1n,
    niceValues: () => [0n, 10n ** BigInt(scale), -(10n ** BigInt(scale))],
    fromLiteral(lit) {
      // A string literal such as '12' is coerced to the column type; '3.5' is an error for an
      // integer column in PostgreSQL, whereas the number 3.5 compares numerically.
      const d = decimalOf(lit, type, true);
      if (lit.kind === 'string' && scale === 0 && d.scale > 0) throw mismatch(lit, type);
      const { floor, exact } = toScaledInteger(d, scale);
      return { key: floor, exact };
    },
    toJson: (k) => {
      const text = scaledToString(k as bigint, scale);
      const n = Number(text);
      return Number.isSafeInteger(Number(k)) ? n : text;
    },
    toSql: (k) => scaledToString(k as bigint, scale),
  };
}

function denseNumberDomain(type: ColumnType): Domain {
  const cmp = (a: Key, b: Key) => compareDecimal(a as Decimal, b as Decimal);
  return {
    family: type.family,
    ordered: true,
    discrete: false,
    successorOnly: false,
    compare: cmp,
    succ: () => {
      throw new Error('succ() on a dense domain');
    },
    pred: () => {
      throw new Error('pred() on a dense domain');
    },
    between: (a, b) => midpoint(a as Decimal, b as Decimal),
    above: (k) => addInteger(k as Decimal, 1n),
    below: (k) => addInteger(k as Decimal, -1n),
    niceValues: () => [
      { n: 0n, scale: 0 },
      { n: 1n, scale: 0 },
      { n: -1n, scale: 0 },
    ],
    fromLiteral: (lit) => ({ key: decimalOf(lit, type, true), exact: true }),
    toJson: (k) => Number(decimalToString(k as Decimal)),
    toSql: (k) => decimalToString(k as Decimal),
  };
}

const SMALLEST_CHAR = '\u0001'; // PostgreSQL text cannot hold U+0000

function textDomain(type: ColumnType, ordered: boolean): Domain {
  return {
    family: type.family,
    ordered,
    discrete: false,
    successorOnly: true,
    min: '',
    compare: cmpStr,
    succ: (k) => (k as string) + SMALLEST_CHAR,
    pred: () => {
      throw new Error('pred() on a text domain');
    },
    between: (a) => (a as string) + SMALLEST_CHAR,
    above: (k) => `${k as string}~`,
    below: () => '',
    niceValues: () => ['other', 'x', 'OTHER', 'zz-other'],
    fromLiteral(lit) {
      if (lit.kind !== 'string') throw mismatch(lit, type, 'a text column compares with a quoted string');
      if (type.family === 'uuid' && !/^[0-9a-f]{8}-?([0-9a-f]{4}-?){3}[0-9a-f]{12}$/i.test(lit.text)) {
        throw mismatch(lit, type);
      }
      return { key: type.family === 'uuid' ? lit.text.toLowerCase() : lit.text, exact: true };
    },
    toJson: (k) => k as string,
    toSql: (k) => sqlString(k as string),
  };
}

const DAY_MS = 86_400_000;
const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})/;
const TIME_TEXT = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?/;
const TIMESTAMP_TEXT = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

function daysOf(text: string): bigint | undefined {
  const m = DATE_TEXT.exec(text);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return undefined;
  return BigInt(ms / DAY_MS);
}

function microsOfTime(text: string): bigint | undefined {
  const m = TIME_TEXT.exec(text);
  if (!m) return undefined;
  const [h, mi, s] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  if (h > 24 || mi > 59 || s > 59) return undefined;
  const frac = BigInt((m[4] ?? '').padEnd(6, '0'));
  return (BigInt(h * 3600 + mi * 60 + s) * 1_000_000n + frac) as bigint;
}

function offsetMinutes(zone: string | undefined): number {
  if (!zone || zone.toUpperCase() === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0));
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function dateText(days: bigint): string {
  const d = new Date(Number(days) * DAY_MS);
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

function timeText(micros: bigint): string {
  const seconds = Number(micros / 1_000_000n);
  const frac = Number(micros % 1_000_000n);
  const base = `${pad(Math.floor(seconds / 3600))}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}`;
  return frac === 0 ? base : `${base}.${pad(frac, 6).replace(/0+$/, '')}`;
}

/** Dates, timestamps and times: bigint days or microseconds, literals in ISO form. */
function temporalDomain(type: ColumnType): Domain {
  const family = type.family;
  const parse = (text: string): bigint | undefined => {
    if (family === 'date') return daysOf(text);
    if (family === 'time') return microsOfTime(text);
    const m = TIMESTAMP_TEXT.exec(text.trim());
    if (!m) return undefined;
    const days = daysOf(m[1] ?? '');
    const time = m[2] ? microsOfTime(m[2]) : 0n;
    if (days === undefined || time === undefined) return undefined;
    // A zone in a literal for a timestamp without time zone is ignored, as PostgreSQL does;
    // timestamptz literals without a zone are read as UTC (ddbkit's sessions run in UTC).
    const offset = family === 'timestamptz' ? BigInt(offsetMinutes(m[3])) * 60_000_000n : 0n;
    return days * 86_400_000_000n + time - offset;
  };
  const text = (k: bigint): string => {
    if (family === 'date') return dateText(k);
    if (family === 'time') return timeText(k);
    const days = k >= 0n ? k / 86_400_000_000n : -((-k + 86_399_999_999n) / 86_400_000_000n);
    const rest = k - days * 86_400_000_000n;
    return `${dateText(days)}T${timeText(rest)}${family === 'timestamptz' ? 'Z' : ''}`;
  };
  const sqlKeyword =
    family === 'date' ? 'DATE' : family === 'time' ? 'TIME' : family === 'timestamptz' ? 'TIMESTAMPTZ' : 'TIMESTAMP';
  const epoch2024 = family === 'date' ? 19723n : family === 'time' ? 12n * 3_600_000_000n : 19723n * 86_400_000_000n;
  return {
    family,
    ordered: true,
    discrete: true,
    successorOnly: false,
    ...(family === 'time' ? { min: 0n, max: 86_400_000_000n } : {}),
    compare: cmpBig,
    succ: (k) => (k as bigint) + 1n,
    pred: (k) => (k as bigint) - 1n,
    between: () => {
      throw new Error('between() on a discrete domain');
    },
    above: (k) => (k as bigint) + 1n,
    below: (k) => (k as bigint) - 1n,
    niceValues: () => [epoch2024],
    fromLiteral(lit) {
      if (lit.kind !== 'string') throw mismatch(lit, type, 'write it as a quoted ISO string');
      const k = parse(lit.text);
      if (k === undefined) throw mismatch(lit, type);
      return { key: k, exact: true };
    },
    toJson: (k) => text(k as bigint),
    toSql: (k) => `${sqlKeyword} ${sqlString(text(k as bigint).replace('T', ' '))}`,
  };
}

function booleanDomain(type: ColumnType): Domain {
  const base = scaledDomain(type, 0, 0n, 1n);
  return {
    ...base,
    niceValues: () => [1n, 0n],
    fromLiteral(lit) {
      if (lit.kind === 'boolean') return { key: lit.value ? 1n : 0n, exact: true };
      if (lit.kind === 'string') {
        const t = lit.text.trim().toLowerCase();
        if (['t', 'true', 'y', 'yes', 'on', '1'].includes(t)) return { key: 1n, exact: true };
        if (['f', 'false', 'n', 'no', 'off', '0'].includes(t)) return { key: 0n, exact: true };
      }
      throw mismatch(lit, type);
    },
    toJson: (k) => k === 1n,
    toSql: (k) => (k === 1n ? 'TRUE' : 'FALSE'),
  };
}

const INTEGER_BITS: Record<number, [bigint, bigint]> = {
  16: [-32768n, 32767n],
  32: [-2147483648n, 2147483647n],
  64: [-9223372036854775808n, 9223372036854775807n],
};

const domainCache = new WeakMap<ColumnType, Domain>();

/** The domain of a column type (one shared object per type object). */
export function domainOf(type: ColumnType): Domain {
  let d = domainCache.get(type);
  if (!d) {
    d = makeDomain(type);
    domainCache.set(type, d);
  }
  return d;
}

function makeDomain(type: ColumnType): Domain {
  switch (type.family) {
    case 'integer': {
      const [min, max] = INTEGER_BITS[type.bits ?? 64] ?? INTEGER_BITS[64]!;
      return scaledDomain(type, 0, min, max);
    }
    case 'decimal': {
      if (type.scale === undefined) return denseNumberDomain(type);
      const limit = type.precision ? 10n ** BigInt(type.precision) - 1n : undefined;
      return limit === undefined
        ? { ...scaledDomain(type, type.scale, 0n, 0n), min: undefined, max: undefined }
        : scaledDomain(type, type.scale, -limit, limit);
    }
    case 'float':
      return denseNumberDomain(type);
    case 'boolean':
      return booleanDomain(type);
    case 'date':
    case 'timestamp':
    case 'timestamptz':
    case 'time':
      return temporalDomain(type);
    case 'text':
      return textDomain(type, true);
    case 'uuid':
    case 'json':
    case 'binary':
    case 'other':
      return textDomain(type, false);
  }
}
