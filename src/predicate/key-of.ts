/** The predicate logic's key of a value in ddbkit's canonical form (see engines/values.ts). */
import type { ColumnType } from '../catalog/types.js';
import { type Key, domainOf } from './domain.js';

export class InexactValueError extends Error {}

/** The key of a canonical value for a column of `type`; null for NULL. Throws when the type cannot hold it. */
export function keyOfValue(type: ColumnType, value: unknown, columnName = 'value'): Key | null {
  if (value === null || value === undefined) return null;
  const domain = domainOf(type);
  const family = type.family;
  let k;
  if (family === 'integer' || family === 'decimal' || family === 'float') {
    k = domain.fromLiteral({ kind: 'number', text: String(value) });
  } else if (family === 'boolean') {
    k = domain.fromLiteral({ kind: 'boolean', value: value === true || value === 't' || value === 'true' || value === 1 });
  } else {
    k = domain.fromLiteral({ kind: 'string', text: String(value) });
  }
  if (!k.exact) throw new InexactValueError(`column ${columnName} (${type.sqlType}) cannot hold ${String(value)} exactly`);
  return k.key;
}
