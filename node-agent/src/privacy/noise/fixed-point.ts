import { PrivacyError } from '../errors.js';

/**
 * Statistics are released on a fixed-point grid of step `granularity` (e.g. 0.01): the value is
 * turned into an integer number of steps, exact integer noise is added, and the result is mapped back.
 */
export function toGrid(value: number, granularity: number): bigint {
  requireGranularity(granularity);
  if (!Number.isFinite(value)) {
    throw new PrivacyError('PRIVACY_INVALID_PARAMETER', 'a value to release must be a finite number', { parameter: 'value' });
  }
  return BigInt(Math.round(value / granularity));
}

export function fromGrid(steps: bigint, granularity: number): number {
  requireGranularity(granularity);
  // Multiplying by the decimal digits of the step avoids 0.1 * 3 = 0.30000000000000004 in output.
  const decimals = decimalPlaces(granularity);
  return Number((Number(steps) * granularity).toFixed(decimals));
}

function decimalPlaces(x: number): number {
  const text = String(x);
  const e = /e-(\d+)$/.exec(text);
  if (e) return Math.min(100, Number(e[1]) + (text.split('e')[0]?.split('.')[1]?.length ?? 0));
  return Math.min(100, text.split('.')[1]?.length ?? 0);
}

function requireGranularity(g: number): void {
  if (!Number.isFinite(g) || g <= 0) {
    throw new PrivacyError('PRIVACY_INVALID_PARAMETER', `granularity must be a finite number > 0; got ${g}`, { parameter: 'granularity' });
  }
}
