/**
 * Polls `fn` until it returns something truthy and returns that, or fails naming `what` after `ms`.
 * A thrown error counts as "not yet" (a call refused while a dependency is away, say).
 */
export async function eventually<T>(what: string, fn: () => Promise<T | null | undefined | false>, ms = 60_000, everyMs = 150): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
