/** The final merge of rows the sites return (src/query/direct.ts mergeRows): sorted parts merged, others sorted. */
import { describe, expect, it } from 'vitest';
import { type OrderKey, mergeRows } from '../../src/query/direct.js';

const INT = { family: 'integer', sqlType: 'integer', bits: 32 } as const;
const DEC = { family: 'decimal', sqlType: 'numeric(10,2)', precision: 10, scale: 2 } as const;
const byId: OrderKey[] = [{ index: 0, type: INT, descending: false, nullsFirst: false }];

describe('mergeRows', () => {
  it('merges parts each in order, keeping every row once', () => {
    const parts = [[[1], [4], [9]], [[2], [3], [10], [11]], [], [[5], [6], [7], [8]]];
    expect(mergeRows(parts, byId).map((r) => r[0])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('sorts parts that arrive out of order (a site that could not order as PostgreSQL does)', () => {
    const parts = [
      [[3], [1]],
      [[2], [0]],
    ];
    expect(mergeRows(parts, byId).map((r) => r[0])).toEqual([0, 1, 2, 3]);
  });

  it('orders decimals by value, descending, NULLs first as PostgreSQL places them for DESC', () => {
    const keys: OrderKey[] = [
      { index: 1, type: DEC, descending: true, nullsFirst: true },
      { index: 0, type: INT, descending: false, nullsFirst: false },
    ];
    const parts = [
      [
        [1, null],
        [2, '10.50'],
        [3, '9.75'],
      ],
      [
        [4, '100.00'],
        [5, '10.50'],
        [6, '-1.00'],
      ],
    ];
    expect(mergeRows(parts, keys).map((r) => r[0])).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('without sort keys: every row of every part, in part order', () => {
    expect(mergeRows([[[2]], [], [[1]]], []).map((r) => r[0])).toEqual([2, 1]);
  });
});
