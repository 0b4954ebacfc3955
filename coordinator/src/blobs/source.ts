/**
 * A caller's stream, wrapped so a store can tell the caller's own failure (which must propagate
 * unchanged) from a storage failure with the same errno (an upload's ECONNRESET is not the database's).
 */
export interface TrackedSource {
  readonly pieces: AsyncIterable<Uint8Array>;
  threw(err: unknown): boolean;
}

export function trackSource(source: AsyncIterable<Uint8Array>): TrackedSource {
  let failure: { error: unknown } | undefined;
  return {
    pieces: (async function* () {
      try {
        yield* source;
      } catch (error) {
        failure = { error };
        throw error;
      }
    })(),
    threw: (err) => failure !== undefined && failure.error === err,
  };
}
