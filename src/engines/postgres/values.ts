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
