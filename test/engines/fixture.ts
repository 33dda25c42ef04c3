/** A relation with every mapped type and rows that exercise the awkward values of each. */
import type { Column, ColumnType, Relation } from '../../src/catalog/types.js';

const ct = (family: ColumnType['family'], sqlType: string, extra: Partial<ColumnType> = {}): ColumnType => ({
  family,
  sqlType,
  ...extra,
});

export const ALL_TYPES: Relation = {
  name: 'all_types',
  primaryKey: ['id'],
  foreignKeys: [],
  checks: [],
  columns: (
    [
      ['id', ct('integer', 'integer', { bits: 32 }), false],
      ['small', ct('integer', 'smallint', { bits: 16 }), true],
      ['big', ct('integer', 'bigint', { bits: 64 }), true],
      ['price', ct('decimal', 'numeric(10,2)', { precision: 10, scale: 2 }), true],
      ['ratio', ct('float', 'double precision'), true],
      ['name', ct('text', 'text'), true],
      ['code', ct('text', 'character varying(12)', { length: 12 }), true],
      ['active', ct('boolean', 'boolean'), true],
      ['born', ct('date', 'date'), true],
      ['seen', ct('timestamp', 'timestamp without time zone'), true],
      ['paid', ct('timestamptz', 'timestamp with time zone'), true],
      ['at', ct('time', 'time without time zone'), true],
      ['doc', ct('json', 'json'), true],
      ['raw', ct('binary', 'bytea'), true],
      ['uid', ct('uuid', 'uuid'), true],
    ] as const
  ).map(([name, type, nullable]): Column => ({ name, type, nullable })),
};

const NAMES = [
  'Wanjiru',
  'Ngũgĩ wa Thiong’o',
  'tab\there',
  'new\nline',
  'back\\slash',
  "o'quote",
  '😀 emoji',
  'Ωμέγα',
  '',
  '\\N',
];

/** Row i of the fixture, canonical values (see src/engines/values.ts); every 7th column value is NULL by turns. */
export function fixtureRow(i: number): unknown[] {
  const sign = i % 2 === 0 ? 1 : -1;
  const row: unknown[] = [
    i,
    (sign * i) % 32767,
    i === 1 ? '9007199254740993' : i === 2 ? '-9223372036854775808' : i === 3 ? '9223372036854775807' : sign * i * 1_000_003,
    `${sign < 0 ? '-' : ''}${(i * 37) % 100000}.${String(i % 100).padStart(2, '0')}`,
    sign * (i + 0.25),
    NAMES[i % NAMES.length],
    `C-${i}`,
    i % 3 === 0,
    `${2000 + (i % 30)}-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}`,
    `2024-02-29T${String(i % 24).padStart(2, '0')}:0${i % 10}:1${i % 10}${
      i % 4 === 0
        ? ''
        : `.${
            String((i * 7919) % 1000000)
              .padStart(6, '0')
              .replace(/0+$/, '') || '5'
          }`
    }`,
    `2023-12-31T23:59:5${i % 10}${i % 5 === 0 ? '.123456' : ''}Z`,
    `${String(i % 24).padStart(2, '0')}:30:0${i % 10}${i % 3 === 0 ? '.25' : ''}`,
    JSON.stringify({ i, tags: ['a', 'ü'], nested: { ok: i % 2 === 0 } }),
    Buffer.from([i % 256, 0, 255, 9, 10, 92]),
    `a0eebc99-9c0b-4ef8-bb6d-${String(i).padStart(12, '0')}`,
  ];
  // NULLs: a different nullable column for each row (never the key).
  if (i % 5 === 0) row[1 + (i % (row.length - 1))] = null;
  return row;
}

export function fixtureRows(n: number, from = 1): unknown[][] {
  return Array.from({ length: n }, (_, k) => fixtureRow(from + k));
}
