/**
 * Starts reading at once and keeps up to `depth` items ahead of the consumer: a site's query runs
 * while the coordinator is still busy loading another site's rows.
 */
export function readAhead<T>(source: AsyncIterable<T>, depth: number): AsyncIterable<T> {
  const it = source[Symbol.asyncIterator]();
  const pending: Array<Promise<IteratorResult<T>>> = [];
  const pull = () => {
    const next = it.next();
    next.catch(() => {}); // observed when consumed; never an unhandled rejection meanwhile
    pending.push(next);
  };
  for (let i = 0; i < depth; i++) pull();
  return {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const r = await pending.shift()!;
        if (r.done) return;
        pull();
        yield r.value;
      }
    },
  };
}

/** Rows already in memory, handed out as batches of at most `size` (to a consumer that takes a stream). */
export async function* batchesOf<T>(rows: T[], size: number): AsyncIterable<T[]> {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}

/**
 * Callers waiting their turn for something handed over one at a time (a pool's session, a
 * transaction slot): first come, first served, each for at most the time it asked.
 */
export class WaitQueue<T> {
  private readonly waiting: Array<{ resolve: (value: T) => void; reject: (e: Error) => void }> = [];

  /** Waits to be handed a value; after `timeoutMs`, leaves the queue and fails with `timedOut()`. */
  wait(timeoutMs: number, timedOut: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry = {
        resolve: (value: T) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(timedOut());
      }, timeoutMs);
      this.waiting.push(entry);
    });
  }

  /** The caller waiting longest, out of the queue (undefined when nobody waits). */
  next(): { resolve: (value: T) => void; reject: (e: Error) => void } | undefined {
    return this.waiting.shift();
  }

  /** Fails every caller still waiting. */
  rejectAll(error: () => Error): void {
    for (const w of this.waiting.splice(0)) w.reject(error());
  }
}
