/**
 * Ages. Safe Harbor (C): ages up to 89 may stay exact; 90 and above collapse into "90+".
 * Researchers may get bands instead (e.g. [0, 18, 40, 65] -> "0-17", "18-39", "40-64", "65-89",
 * "90+"): bands never reach past 90, which is always the top band's start.
 */
export const AGE_TOP = 90;
export const AGE_TOP_LABEL = '90+';

export function parseAge(value: unknown): number | undefined {
  const text = typeof value === 'number' || typeof value === 'string' ? String(value).trim() : '';
  if (!/^\d+(\.\d+)?$/.test(text)) return undefined;
  const age = Math.floor(Number(text));
  return Number.isSafeInteger(age) && age <= 150 ? age : age > 150 ? AGE_TOP : undefined;
}

/** Safe Harbor exact-age generalisation: 0..89 unchanged, >= 90 -> "90+", unparseable -> undefined. */
export function safeHarborAge(value: unknown): number | string | undefined {
  const age = parseAge(value);
  if (age === undefined) return undefined;
  return age >= AGE_TOP ? AGE_TOP_LABEL : age;
}

/** Band label of an age; `bounds` are ascending band starts (those >= 90 are ignored). */
export function ageBand(value: unknown, bounds: readonly number[]): string | undefined {
  const age = parseAge(value);
  if (age === undefined) return undefined;
  if (age >= AGE_TOP) return AGE_TOP_LABEL;
  const starts = [...new Set(bounds.filter((b) => Number.isInteger(b) && b >= 0 && b < AGE_TOP))].sort((a, b) => a - b);
  if (starts.length === 0 || age < (starts[0] as number)) return starts.length === 0 ? `0-${AGE_TOP - 1}` : `<${starts[0]}`;
  let index = 0;
  while (index + 1 < starts.length && (starts[index + 1] as number) <= age) index++;
  const lo = starts[index] as number;
  const hi = (starts[index + 1] ?? AGE_TOP) - 1;
  return `${lo}-${hi}`;
}
