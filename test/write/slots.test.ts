/** TransactionSlots: admission of transactions, at most as many open as a site has sessions. */
import { describe, expect, it } from 'vitest';
import { isRetryable } from '../../src/write/errors.js';
import { TransactionSlots } from '../../src/write/transaction.js';

describe('transaction slots', () => {
  it('hands a slot given back to the transaction waiting longest, once', async () => {
    const slots = new TransactionSlots(1, 60_000);
    const release = await slots.take();
    const order: string[] = [];
    const second = slots.take().then((r) => (order.push('second'), r));
    const third = slots.take().then((r) => (order.push('third'), r));
    release();
    release(); // given back twice: still one slot
    const releaseSecond = await second;
    expect(order).toEqual(['second']);
    releaseSecond();
    (await third)();
    expect(order).toEqual(['second', 'third']);
    // Free again: taken at once.
    (await slots.take())();
  });

  it('a transaction that waits too long fails with a retryable error that says why', async () => {
    const slots = new TransactionSlots(1, 30);
    const release = await slots.take();
    const waited = await slots.take().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isRetryable(waited)).toBe(true);
    expect((waited as Error).message).toMatch(/within 30 ms: 1 already open, as many as a site has sessions/);
    // The timed-out caller left the queue: the slot given back is free for the next.
    release();
    (await slots.take())();
  });
});
