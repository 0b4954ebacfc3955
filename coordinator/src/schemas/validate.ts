import type { TSchema, Static } from 'typebox';
import { Value } from 'typebox/value';
import { FederationError } from '../federation/errors.js';

/**
 * Fills defaults and checks a value against its schema; the error names the first offending key
 * (`/training/learningRate: must be > 0`), so a caller knows exactly what to fix.
 */
export function validated<S extends TSchema>(schema: S, input: unknown, what: string): Static<S> {
  const value = Value.Default(schema, Value.Clone(input ?? {})) as unknown;
  const errors = [...Value.Errors(schema, value)];
  if (errors.length > 0) {
    const e = errors.find((x) => x.keyword !== 'boolean') ?? errors[0]!;
    const where = e.instancePath || '/';
    const extra = e.keyword === 'additionalProperties'
      ? ` (${(e.params as { additionalProperties?: string[] }).additionalProperties?.join(', ')})` : '';
    throw new FederationError('VALIDATION_FAILED', `${what} ${where}: ${e.message}${extra}`, { path: where });
  }
  return value as Static<S>;
}
