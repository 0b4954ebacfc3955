import type { GeneralizeSpec } from '../policy.js';
import type { FieldSchema, Generalization } from '../schema.js';
import { ageBand, safeHarborAge } from './age.js';
import { birthYear, dateToYear } from './date.js';
import { numericBin } from './numeric-bin.js';
import { zip3 } from './zip.js';

export interface GeneralizeContext {
  /** Age band starts, when bands replace Safe Harbor's exact ages. */
  readonly ageBands: readonly number[] | undefined;
  readonly binWidth: number;
  /** Year against which birth years are judged to imply an age of 90 or more. */
  readonly referenceYear: number;
}

export const DEFAULT_BIN_WIDTH = 10;

/** How a field is generalised: declared, else from its type; text without a rule is withheld. */
export function generalizationOf(field: FieldSchema): Generalization {
  if (field.generalization !== undefined) return field.generalization;
  if (field.type === 'date') return 'date';
  if (field.type === 'integer' || field.type === 'number') return 'numeric';
  return 'suppress';
}

export function generalizeContext(spec: GeneralizeSpec | undefined, fallbackBands: readonly number[] | undefined, referenceYear: number): GeneralizeContext {
  return { ageBands: spec?.bands ?? fallbackBands, binWidth: spec?.binWidth ?? DEFAULT_BIN_WIDTH, referenceYear };
}

/** The generalised value, or undefined when the value cannot be generalised (it is then withheld). */
export function generalize(kind: Generalization, value: string | number | boolean, ctx: GeneralizeContext): string | number | undefined {
  switch (kind) {
    case 'age':
      return ctx.ageBands === undefined ? safeHarborAge(value) : ageBand(value, ctx.ageBands);
    case 'date':
      return dateToYear(value);
    case 'birth-date':
      return birthYear(value, ctx.referenceYear);
    case 'birth-year':
      return birthYear(value, ctx.referenceYear, true);
    case 'zip':
      return zip3(value);
    case 'numeric':
      return numericBin(value, ctx.binWidth);
    case 'suppress':
      return undefined;
  }
}
