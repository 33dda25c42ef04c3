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
