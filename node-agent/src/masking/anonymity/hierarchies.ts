import type { FieldPlan } from '../plan.js';
import { AGE_TOP, AGE_TOP_LABEL, ageBand, parseAge, safeHarborAge } from '../transforms/age.js';
import { birthYear, dateToMonth, dateToYear, dayNumber, parseDate, parseDateYear, parseYearOnly, topBirthYear, topBirthYearLabel } from '../transforms/date.js';
import { generalizationOf, type GeneralizeContext } from '../transforms/generalize.js';
import { numericBin } from '../transforms/numeric-bin.js';
import { zip3, zipPrefix } from '../transforms/zip.js';
import { zipState } from '../transforms/zip-state.js';
import type { LevelSpec, Raw, Scale } from './hierarchy.js';

/**
 * The generalisation hierarchy of each kind of quasi-identifier, as ARX and sdcMicro build them,
 * from what the plan shows (`full`, or the Safe Harbor generalisation) upwards; "*" tops each:
 * - age: exact to 89 with 90+, then 5- and 10-year bands (90+ one band), then 20- and 40-year
 *   bands whose top band 80+ takes in 90+;
 * - birth date / year: the year with every year implying 90 or older collapsed (`<=YYYY`), then
 *   the years of birth of the age bands above (ages counted at the reference year);
 * - other dates: (full date, month,) year;
 * - ZIP: (full,) ZIP3 (`000` for restricted prefixes), state;
 * - numbers: bins of the policy's width, twice, four times that;
 * - anything else (sex, race, a pseudonym...): kept.
 * Each level is a coarsening of the one below it, so equivalence classes only ever merge going up;
 * except that ZIP3 "000" gathers the restricted prefixes of every state, which the state level hands
 * back to their states (Safe Harbor allows states).
 */
export interface KindHierarchy {
  readonly specs: readonly LevelSpec[];
  readonly scale?: Scale;
}

/** Band widths and the age from which one top band takes in everyone older (always 90 or below). */
export const AGE_BANDS = [
  { width: 5, top: 90 },
  { width: 10, top: 90 },
  { width: 20, top: 80 },
  { width: 40, top: 80 },
] as const;
export const BIN_MULTIPLES = [1, 2, 4] as const;

export function hierarchyOf(plan: FieldPlan, ctx: GeneralizeContext): KindHierarchy {
  const full = plan.transform === 'full';
  if (plan.transform !== 'full' && plan.transform !== 'generalize') return { specs: [{ label: shownLabelOf(plan.transform), cell: () => undefined }] };
  switch (generalizationOf(plan.field)) {
    case 'age':
      return ageHierarchy(full, ctx);
    case 'birth-date':
      return birthHierarchy(full, ctx.referenceYear, 'date');
    case 'birth-year':
      return birthHierarchy(full, ctx.referenceYear, 'year');
    case 'date':
      return dateHierarchy(full);
    case 'zip':
      return { specs: [...(full ? [FULL] : []), { label: 'ZIP3', cell: zip3 }, { label: 'state', cell: (raw) => (zipPrefix(raw) === undefined ? undefined : (zipState(raw) ?? '000')) }] };
    case 'numeric':
      return numericHierarchy(full, ctx.binWidth);
    case 'suppress':
      return { specs: [full ? FULL : { label: 'withheld', cell: () => undefined }] };
  }
}

/** What a field shows when it is not generalised. */
export function shownLabelOf(transform: FieldPlan['transform'], notePreview = false): string {
  switch (transform) {
    case 'full':
      return 'full';
    case 'pseudonymize':
      return 'pseudonym';
    case 'noise':
      return notePreview ? 'noise (not drawn in preview)' : 'noise';
    case 'redact':
      return 'redacted';
    case 'generalize':
      return 'generalised';
  }
}

const FULL: LevelSpec = { label: 'full', cell: (raw) => raw, exact: true };

function ageHierarchy(full: boolean, ctx: GeneralizeContext): KindHierarchy {
  const scale: Scale = (raw) => parseAge(raw);
  const point = (raw: Raw): readonly [number, number] | undefined => {
    const age = parseAge(raw);
    return age === undefined ? undefined : age >= AGE_TOP ? [AGE_TOP, Infinity] : [age, age];
  };
  if (!full && ctx.ageBands !== undefined) {
    const bounds = ctx.ageBands;
    return { scale, specs: [{ label: 'age bands of the site policy', cell: (raw) => ageBand(raw, bounds), range: (raw) => policyBandRange(parseAge(raw), bounds) }] };
  }
  const bands = AGE_BANDS.map(({ width, top }): LevelSpec => ({
    label: top === AGE_TOP ? `${width}-year bands` : `${width}-year bands (${top}+)`,
    cell: (raw) => {
      const age = parseAge(raw);
      if (age === undefined) return undefined;
      if (age >= top) return top === AGE_TOP ? AGE_TOP_LABEL : `${top}+`;
      const [lo, hi] = bandOf(age, width, top);
      return `${lo}-${hi}`;
    },
    range: (raw) => {
      const age = parseAge(raw);
      return age === undefined ? undefined : age >= top ? [top, Infinity] : bandOf(age, width, top);
    },
  }));
  const safeHarbor: LevelSpec = { label: `exact to ${AGE_TOP - 1}, ${AGE_TOP_LABEL}`, cell: safeHarborAge, range: point };
  return { scale, specs: [...(full ? [FULL] : []), safeHarbor, ...bands] };
}

function bandOf(age: number, width: number, top: number): [number, number] {
  const lo = Math.floor(age / width) * width;
  return [lo, Math.min(lo + width - 1, top - 1)];
}

function policyBandRange(age: number | undefined, bounds: readonly number[]): readonly [number, number] | undefined {
  if (age === undefined) return undefined;
  if (age >= AGE_TOP) return [AGE_TOP, Infinity];
  const starts = [...new Set(bounds.filter((b) => Number.isInteger(b) && b >= 0 && b < AGE_TOP))].sort((a, b) => a - b);
  if (starts.length === 0) return [0, AGE_TOP - 1];
  if (age < (starts[0] as number)) return [0, (starts[0] as number) - 1];
  let index = 0;
  while (index + 1 < starts.length && (starts[index + 1] as number) <= age) index++;
  return [starts[index] as number, (starts[index + 1] ?? AGE_TOP) - 1];
}

function birthHierarchy(full: boolean, referenceYear: number, unit: 'date' | 'year'): KindHierarchy {
  const top = topBirthYear(referenceYear);
  const topLabel = topBirthYearLabel(referenceYear);
  const yearOf = unit === 'year' ? parseYearOnly : parseDateYear;
  // Birth dates are measured in days, birth years in years.
  const span = (lo: number, hi: number): [number, number] => (unit === 'year' ? [lo, hi] : [dayNumber(lo), dayNumber(hi, 12, 31)]);
  const scale: Scale = unit === 'year' ? (raw) => parseYearOnly(raw) : (raw) => dayOf(raw);
  const collapsed = (y: number): boolean => y <= top;
  const year: LevelSpec = {
    label: `year (${topLabel} for 90+)`,
    cell: (raw) => birthYear(raw, referenceYear, unit === 'year'),
    range: (raw) => {
      const y = yearOf(raw);
      return y === undefined ? undefined : collapsed(y) ? [-Infinity, span(top, top)[1]] : span(y, y);
    },
  };
  const month: LevelSpec = {
    label: `month (${topLabel} for 90+)`,
    cell: (raw) => {
      const y = yearOf(raw);
      if (y === undefined) return undefined;
      return collapsed(y) ? topLabel : (dateToMonth(raw) ?? y);
    },
    range: (raw) => {
      const d = parseDate(raw);
      if (d === undefined) return undefined;
      if (collapsed(d.year)) return [-Infinity, span(top, top)[1]];
      return d.month === undefined ? span(d.year, d.year) : [dayNumber(d.year, d.month), dayNumber(d.year, d.month + 1) - 1];
    },
  };
  // Ranges of birth years are the age bands read as years of birth, so that they nest as the bands do.
  const ranges = AGE_BANDS.map(({ width, top: topAge }): LevelSpec => {
    const newestCollapsed = referenceYear - topAge;
    const label = `<=${newestCollapsed}`;
    const rangeOf = (y: number): [number, number] => {
      const lo = Math.floor((referenceYear - y) / width) * width;
      return [referenceYear - Math.min(lo + width - 1, topAge - 1), referenceYear - lo];
    };
    return {
      label: `${width}-year ranges (${label} for ${topAge}+)`,
      cell: (raw) => {
        const y = yearOf(raw);
        if (y === undefined) return undefined;
        if (y <= newestCollapsed) return label;
        const [first, last] = rangeOf(y);
        return `${first}-${last}`;
      },
      range: (raw) => {
        const y = yearOf(raw);
        return y === undefined ? undefined : y <= newestCollapsed ? [-Infinity, span(newestCollapsed, newestCollapsed)[1]] : span(...rangeOf(y));
      },
    };
  });
  return { scale, specs: [...(full ? [FULL, ...(unit === 'date' ? [month] : [])] : []), year, ...ranges] };
}

function dateHierarchy(full: boolean): KindHierarchy {
  const month: LevelSpec = {
    label: 'month',
    cell: (raw) => dateToMonth(raw) ?? dateToYear(raw),
    range: (raw) => {
      const d = parseDate(raw);
      if (d === undefined) return undefined;
      return d.month === undefined ? [dayNumber(d.year), dayNumber(d.year, 12, 31)] : [dayNumber(d.year, d.month), dayNumber(d.year, d.month + 1) - 1];
    },
  };
  const year: LevelSpec = {
    label: 'year',
    cell: dateToYear,
    range: (raw) => {
      const y = parseDateYear(raw);
      return y === undefined ? undefined : [dayNumber(y), dayNumber(y, 12, 31)];
    },
  };
  return { scale: dayOf, specs: [...(full ? [FULL, month] : []), year] };
}

function numericHierarchy(full: boolean, width: number): KindHierarchy {
  const bins = BIN_MULTIPLES.map((m): LevelSpec => ({
    label: `bins of ${Number((width * m).toPrecision(12))}`,
    cell: (raw) => numericBin(raw, width * m),
    range: (raw) => {
      const x = numberOf(raw);
      if (x === undefined) return undefined;
      const lo = Math.floor(x / (width * m)) * width * m;
      return [lo, lo + width * m];
    },
  }));
  return { scale: numberOf, specs: [...(full ? [FULL] : []), ...bins] };
}

function dayOf(raw: Raw): number | undefined {
  const d = parseDate(raw);
  return d === undefined ? undefined : dayNumber(d.year, d.month ?? 1, d.day ?? 1);
}

function numberOf(raw: Raw): number | undefined {
  const text = String(raw).trim();
  const x = Number(text);
  return text === '' || !Number.isFinite(x) ? undefined : x;
}
