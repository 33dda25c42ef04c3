/**
 * Order-independent checksums of row sets, computed by ddbkit itself over canonical values (see
 * engines/values.ts), so a fragment on SQLite and the same rows on PostgreSQL give the same sum.
 * Each row is hashed (SHA-1 of a typed serialisation) and the hashes are added modulo 2^32 in two
 * lanes: a 64-bit sum that ignores order but not multiplicity.
 */
import { createHash } from 'node:crypto';

export interface RowSetDigest {
  rows: number;
  checksum: string;
}

function serialize(value: unknown): string {
  if (value === null || value === undefined) return 'N';
  if (Buffer.isBuffer(value)) return `B${value.toString('base64')}`;
  if (typeof value === 'number') return `n${Object.is(value, -0) ? 0 : value}`;
  if (typeof value === 'boolean') return value ? 'T' : 'F';
  if (typeof value === 'bigint') return `n${value}`;
  return `s${String(value).length}:${String(value)}`;
}

export class RowDigest {
  private lo = 0;
  private hi = 0;
  private count = 0;

  add(row: readonly unknown[]): void {
    const h = createHash('sha1').update(row.map(serialize).join('\u0000')).digest();
    this.lo = (this.lo + h.readUInt32LE(0)) % 0x1_0000_0000;
    this.hi = (this.hi + h.readUInt32LE(4)) % 0x1_0000_0000;
    this.count++;
  }

  async addAll(batches: AsyncIterable<unknown[][]>): Promise<this> {
    for await (const batch of batches) for (const row of batch) this.add(row);
    return this;
  }

  digest(): RowSetDigest {
    return { rows: this.count, checksum: this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0') };
  }
}
