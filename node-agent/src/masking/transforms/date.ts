/**
 * Dates become their year (Safe Harbor C keeps only the year). Accepted forms: ISO 8601
 * (2021-03-04, 2021-03-04T10:00Z, 20210304, 2021/03/04, 2021-03), day-first or month-first with a
 * four-digit year (04/03/2021, 4.3.2021), written months (4 Mar 2021, March 4, 2021), a bare year.
 * Anything else is withheld (undefined), never passed through.
 */
export function parseDateYear(value: unknown): number | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getUTCFullYear();
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const text = String(value).trim();
  for (const { pattern, year, month, day, check } of DATE_FORMS) {
    const m = pattern.exec(text);
    if (!m || (check !== undefined && !check(m))) continue;
    const y = Number(m[year]);
    if (month !== undefined && m[month] !== undefined && !inRange(Number(m[month]), 1, 12)) return undefined;
    if (day !== undefined && m[day] !== undefined && !inRange(Number(m[day]), 1, 31)) return undefined;
    return inRange(y, 1000, 9999) ? y : undefined;
  }
  return undefined;
}

const MONTH = '(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\\.?';

const DATE_FORMS: readonly { pattern: RegExp; year: number; month?: number; day?: number; check?: (m: RegExpExecArray) => boolean }[] = [
  { pattern: /^(\d{4})-(\d{2})-(\d{2})([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/, year: 1, month: 2, day: 3 },
  { pattern: /^(\d{4})\/(\d{1,2})\/(\d{1,2})$/, year: 1, month: 2, day: 3 },
  { pattern: /^(\d{4})(\d{2})(\d{2})$/, year: 1, month: 2, day: 3 },
  { pattern: /^(\d{4})-(\d{2})$/, year: 1, month: 2 },
  { pattern: /^(\d{4})$/, year: 1 },
  // Day-first or month-first: the year is certain either way; one of the first two parts must be a
  // month (<= 12) and the other a day (<= 31).
  { pattern: /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/, year: 3, check: (m) => isDayAndMonth(Number(m[1]), Number(m[2])) },
  { pattern: new RegExp(`^\\d{1,2}\\s+${MONTH},?\\s+(\\d{4})$`, 'i'), year: 2 },
  { pattern: new RegExp(`^${MONTH}\\s+\\d{1,2},?\\s+(\\d{4})$`, 'i'), year: 2 },
];

function isDayAndMonth(a: number, b: number): boolean {
  return (inRange(a, 1, 31) && inRange(b, 1, 12)) || (inRange(a, 1, 12) && inRange(b, 1, 31));
}

function inRange(x: number, lo: number, hi: number): boolean {
  return Number.isInteger(x) && x >= lo && x <= hi;
}

/** Safe Harbor date generalisation: the year, or undefined (withheld) when unparseable. */
export function dateToYear(value: unknown): number | undefined {
  return parseDateYear(value);
}

/**
 * Birth dates and birth years: the year, except that a year implying an age of 90 or more at the
 * reference year is collapsed into one category (Safe Harbor C: "all elements of dates (including
 * year) indicative of such age ... aggregated into a single category of age 90 or older").
 */
export function birthYear(value: unknown, referenceYear: number, alreadyYear = false): number | string | undefined {
  const year = alreadyYear ? parseYearOnly(value) : parseDateYear(value);
  if (year === undefined) return undefined;
  return referenceYear - year >= 90 ? `<=${referenceYear - 90}` : year;
}

function parseYearOnly(value: unknown): number | undefined {
  const text = typeof value === 'number' || typeof value === 'string' ? String(value).trim() : '';
  return /^\d{4}$/.test(text) ? Number(text) : parseDateYear(text);
}
