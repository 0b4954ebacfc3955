import { parseDate } from './transforms/date.js';

/**
 * Whether a column of dates whose name gives no hint looks like dates of birth. Conservative: when
 * in doubt the column stays an ordinary date (its year is kept; only birth dates are top-coded).
 * All must hold, with ages measured at the reference date (the masking run's date):
 * - at least MIN_VALUES values, every one of them a date;
 * - none after the reference date, none more than MAX_AGE years before it;
 * - the ages spread widely, as a population's do: the 10th and 90th percentiles are at least
 *   MIN_SPREAD years apart (admission or service dates cluster within a few years);
 * - the median age is between MIN_MEDIAN_AGE and MAX_MEDIAN_AGE years.
 * A column of a hospital's admissions over several decades can pass too; it is then top-coded like
 * a birth date, which only collapses dates 90 or more years back.
 */
export const BIRTH_DATE_HEURISTIC = {
  MIN_VALUES: 20,
  MAX_AGE: 125,
  MIN_SPREAD: 20,
  MIN_MEDIAN_AGE: 20,
  MAX_MEDIAN_AGE: 100,
} as const;

export function looksLikeBirthDates(values: readonly unknown[], now: Date): boolean {
  const h = BIRTH_DATE_HEURISTIC;
  const present = values.filter((v) => v !== null && v !== undefined && String(v).trim() !== '');
  if (present.length < h.MIN_VALUES) return false;
  const ages: number[] = [];
  for (const v of present) {
    const d = parseDate(v);
    if (d === undefined) return false;
    const age = (now.getTime() - Date.UTC(d.year, (d.month ?? 1) - 1, d.day ?? 1)) / (365.2425 * 86_400_000);
    if (age < 0 || age > h.MAX_AGE) return false;
    ages.push(age);
  }
  ages.sort((a, b) => a - b);
  const at = (q: number) => ages[Math.min(ages.length - 1, Math.floor(q * ages.length))] as number;
  const median = at(0.5);
  return at(0.9) - at(0.1) >= h.MIN_SPREAD && median >= h.MIN_MEDIAN_AGE && median <= h.MAX_MEDIAN_AGE;
}
