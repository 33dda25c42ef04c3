/**
 * PostgreSQL wire values (text format), shared by the `pg` and PGlite connectors: both are asked
 * for raw text and read it here, so that they agree to the character.
 */
import type { TypeFamily } from '../../catalog/types.js';
import { canonicalText, canonicalValue, looseValue, type ValueType } from '../values.js';

/** pg_type OIDs ddbkit reads exactly; anything else comes back as the driver's text. */
export const PG_OID_FAMILY: Readonly<Record<number, TypeFamily>> = {
  16: 'boolean',
  17: 'binary',
  20: 'integer',
  21: 'integer',
  23: 'integer',
  26: 'integer', // oid
  25: 'text',
  19: 'text', // name
  1042: 'text',
  1043: 'text',
  114: 'json',
  3802: 'json',
  700: 'float',
  701: 'float',
  1700: 'decimal',
  1082: 'date',
  1083: 'time',
  1114: 'timestamp',
  1184: 'timestamptz',
  2950: 'uuid',
};

/** The OIDs whose text the drivers must hand over unparsed. */
export const RAW_TEXT_OIDS = Object.keys(PG_OID_FAMILY).map(Number);

/** Reads one raw text value of a column of type `oid`; numeric keeps the scale PostgreSQL printed. */
export function pgValue(text: unknown, oid: number): unknown {
  if (text === null || text === undefined) return null;
  const family = PG_OID_FAMILY[oid];
  if (family === undefined) return looseValue(text);
  if (typeof text !== 'string') return looseValue(text);
  // Fast paths for the spellings a ddbkit session (UTC, DateStyle ISO) always gets, already
  // canonical but for the separator: a bulk load reads millions of these.
  switch (oid) {
    case 21: // int2
    case 23: // int4
    case 26: // oid
      return Number(text);
    case 20: // int8: exact as a number up to 15 digits
      if (text.length <= 15) return Number(text);
      break;
    case 1082: // date
      if (text.length === 10) return text;
      break;
    case 1114: // timestamp 'YYYY-MM-DD HH:MM:SS'
      if (text.length === 19 && text.charCodeAt(10) === 32) return `${text.slice(0, 10)}T${text.slice(11)}`;
      break;
    case 1184: // timestamptz in UTC 'YYYY-MM-DD HH:MM:SS+00'
      if (text.length === 22 && text.charCodeAt(10) === 32 && text.endsWith('+00'))
        return `${text.slice(0, 10)}T${text.slice(11, 19)}Z`;
      break;
  }
  if (family === 'float') {
    // PostgreSQL spells the special values Infinity / -Infinity / NaN, which Number() reads.
    return Number(text);
  }
  return canonicalValue(text, { family });
}

/** COPY text format spelling of a canonical value. */
export function pgCopyText(v: unknown, type: ValueType): string {
  return canonicalText(v, type);
}
