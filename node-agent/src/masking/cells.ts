/** A value in masked output. `null` is an empty or withheld value. */
export type Cell = string | number | boolean | null;

/** Shown in place of a value whose noise is not drawn (previews spend no privacy budget). */
export const NOISE_PREVIEW = '[noise: not applied in preview]';

/** Shown in place of a quasi-identifier suppressed because too few rows share it. */
export const SUPPRESSED = '*';

/** Normalises an input value: empty text, null and undefined are missing. */
export function rawValue(value: unknown): string | number | boolean | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'boolean') return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
  const text = String(value);
  return text.trim() === '' ? undefined : text;
}
