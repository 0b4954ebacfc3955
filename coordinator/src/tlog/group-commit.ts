/**
 * Coalesces concurrent calls into batches: while one batch is being written, new items queue, and
 * the next batch takes them all (up to maxBatch). One transaction per batch instead of per item is
 * what lets a log that commits durably keep up with thousands of appends per second.
 */
export function groupCommit<T, R>(write: (items: readonly T[]) => Promise<readonly R[]>, maxBatch: number): (item: T) => Promise<R> {
  const queue: Array<{ item: T; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  let writing = false;

  const drain = async (): Promise<void> => {
    writing = true;
    while (queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      try {
        const results = await write(batch.map((b) => b.item));
        batch.forEach((b, i) => b.resolve(results[i]!));
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    writing = false;
  };

  return (item) =>
    new Promise<R>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (!writing) void drain();
    });
}
