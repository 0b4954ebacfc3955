import { InvalidArgumentError } from 'commander';

export function parsePort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65_535) throw new InvalidArgumentError('must be an integer from 0 to 65535');
  return Number(value);
}

export function parsePositiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 1_000_000) throw new InvalidArgumentError('must be a positive integer');
  return Number(value);
}

export function parseNonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 2 ** 31 - 1) throw new InvalidArgumentError('must be a non-negative integer');
  return Number(value);
}
