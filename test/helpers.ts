import type { Column, ColumnType, Relation } from '../src/catalog/types.js';
import type { Scope, Variable } from '../src/predicate/index.js';

export const T = {
  int: { family: 'integer', sqlType: 'integer', bits: 32 } as ColumnType,
  smallint: { family: 'integer', sqlType: 'smallint', bits: 16 } as ColumnType,
  text: { family: 'text', sqlType: 'text' } as ColumnType,
  money: { family: 'decimal', sqlType: 'numeric(10,2)', precision: 10, scale: 2 } as ColumnType,
  numeric: { family: 'decimal', sqlType: 'numeric' } as ColumnType,
  float: { family: 'float', sqlType: 'double precision' } as ColumnType,
  bool: { family: 'boolean', sqlType: 'boolean' } as ColumnType,
  date: { family: 'date', sqlType: 'date' } as ColumnType,
  ts: { family: 'timestamp', sqlType: 'timestamp without time zone' } as ColumnType,
  tstz: { family: 'timestamptz', sqlType: 'timestamp with time zone' } as ColumnType,
};

export function variable(name: string, type: ColumnType, nullable = true): Variable {
  return { id: name.toLowerCase(), name, type, nullable };
}

export function scopeOf(vars: Variable[]): Scope {
  return {
    description: 'test relation',
    resolve: (name) => vars.find((v) => v.name.toLowerCase() === name.toLowerCase()),
  };
}

export function relation(
  name: string,
  columns: Array<[string, ColumnType, boolean?]>,
  pk: string[],
  extra: Partial<Relation> = {},
): Relation {
  const cols: Column[] = columns.map(([n, type, nullable]) => ({ name: n, type, nullable: nullable ?? !pk.includes(n) }));
  return { name, columns: cols, primaryKey: pk, foreignKeys: [], checks: [], ...extra };
}
