/**
 * The digest of the global model each training round agreed on (SHA-256 of its float32 bytes), as
 * the job view reports it: on a figure (`figures[i].paramsSha256`) or on the training round
 * (`rounds[i].paramsSha256`). Null where the coordinator reports none, so a result never claims
 * a digest nobody checked.
 */
export function roundParamsSha256(view: { figures: readonly object[]; rounds: readonly object[] }, round: number): string | null {
  const digestOf = (entry: object | undefined): string | null => {
    const value = (entry as { paramsSha256?: unknown } | undefined)?.paramsSha256;
    return typeof value === 'string' && /^[0-9a-f]{64}$/.test(value) ? value : null;
  };
  const figure = view.figures.find((f) => (f as { round?: unknown }).round === round);
  const trainRound = view.rounds.find((r) => (r as { round?: unknown; kind?: unknown }).round === round && (r as { kind?: unknown }).kind === 'train');
  return digestOf(figure) ?? digestOf(trainRound);
}
