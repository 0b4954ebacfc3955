import { PrivacyError } from '../errors.js';

/** Throws PRIVACY_INVALID_PARAMETER naming the parameter unless `ok`. */
export function requireParameter(ok: boolean, name: string, value: unknown, expected: string): void {
  if (!ok) {
    throw new PrivacyError(
      'PRIVACY_INVALID_PARAMETER',
      `${name} must be ${expected}; got ${typeof value === 'number' ? String(value) : JSON.stringify(value)}`,
      { parameter: name },
    );
  }
}

export function isFiniteNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/** Every order must exceed 1 (RDP of order 1 is KL divergence, which the conversion cannot use). */
export function requireOrders(orders: readonly number[]): void {
  requireParameter(Array.isArray(orders) && orders.length > 0, 'orders', orders, 'a non-empty list');
  for (const order of orders) {
    requireParameter(typeof order === 'number' && order > 1, 'orders', order, 'numbers greater than 1 (Infinity allowed)');
  }
}
