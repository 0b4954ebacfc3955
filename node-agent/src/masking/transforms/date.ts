/**
 * Dates. Accepted forms, each optionally followed by a time of day (`T10:22`, ` 10:22:01.5`,
 * ` 10:22 PM`, with a zone `Z`/`+01:00`): ISO 8601 (2021-03-04, 2021/3/4, 2021-03, a bare year),
 * compact (20210304, 20210304T102201, HL7 202103041022), day-first or month-first with a
 * four-digit year (04.03.2021, 03/04/2021, 4-3-2021), written months (4 Mar 2021, March 4, 2021,
 * 04-MAR-2021, SAS 04MAR2021). Anything else is withheld (undefined), never passed through.
 *
 * With `/` the month comes first (US) unless the first part cannot be a month; with `.` or `-` the
 * day comes first. The year is certain either way; only the month level of a date depends on it.
 */
export interface DateParts {
  readonly year: number;
  /** 1..12, when the form has one. */
  readonly month?: number;
  /** 1..31, when the form has one. */
  readonly day?: number;
}

const TIME = String.raw`(?:[T ]\d{1,2}(?::\d{2}){1,2}(?:[.,]\d+)?\s*(?:[ap]\.?m\.?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?)?`;
const MONTH = '(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\\.?';
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

type Form = { readonly pattern: RegExp; readonly parts: (m: RegExpExecArray) => DateParts | undefined };

const DATE_FORMS: readonly Form[] = [
  { pattern: new RegExp(`^(\\d{4})-(\\d{1,2})-(\\d{1,2})${TIME}$`, 'i'), parts: (m) => ymd(m[1], m[2], m[3]) },
  { pattern: new RegExp(`^(\\d{4})/(\\d{1,2})/(\\d{1,2})${TIME}$`, 'i'), parts: (m) => ymd(m[1], m[2], m[3]) },
  { pattern: /^(\d{4})(\d{2})(\d{2})(?:[T ]?\d{2}:?\d{2}(?::?\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i, parts: (m) => ymd(m[1], m[2], m[3]) },
  { pattern: /^(\d{4})-(\d{2})$/, parts: (m) => ymd(m[1], m[2], undefined) },
  { pattern: /^(\d{4})$/, parts: (m) => ymd(m[1], undefined, undefined) },
  { pattern: new RegExp(`^(\\d{1,2})([/.-])(\\d{1,2})\\2(\\d{4})${TIME}$`, 'i'), parts: (m) => dayAndMonth(Number(m[1]), Number(m[3]), m[2] === '/', m[4]) },
  { pattern: new RegExp(`^(\\d{1,2})[\\s-]*${MONTH}[\\s,-]*(\\d{4})(?:${TIME}|:\\d{2}:\\d{2}(?::\\d{2})?)$`, 'i'), parts: (m) => ymd(m[3], monthOf(m[2]), m[1]) },
  { pattern: new RegExp(`^${MONTH}\\s+(\\d{1,2}),?\\s+(\\d{4})${TIME}$`, 'i'), parts: (m) => ymd(m[3], monthOf(m[1]), m[2]) },
];

/** The parts of a date, or undefined when the text is not one of the accepted forms. */
export function parseDate(value: unknown): DateParts | undefined {
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? undefined : { year: value.getUTCFullYear(), month: value.getUTCMonth() + 1, day: value.getUTCDate() };
  }
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const text = String(value).trim();
  for (const form of DATE_FORMS) {
    const m = form.pattern.exec(text);
    if (m) return form.parts(m);
  }
  return undefined;
}

/** The year of a date, or undefined (withheld) when unparseable. */
export function parseDateYear(value: unknown): number | undefined {
  return parseDate(value)?.year;
}

/** Safe Harbor date generalisation: the year, or undefined (withheld) when unparseable. */
export function dateToYear(value: unknown): number | undefined {
  return parseDateYear(value);
}

/** `YYYY-MM`, or undefined when the date has no month. */
export function dateToMonth(value: unknown): string | undefined {
  const d = parseDate(value);
  return d?.month === undefined ? undefined : `${d.year}-${String(d.month).padStart(2, '0')}`;
}

/**
 * The newest birth year collapsed into the 90-or-older category at a reference year: someone born
 * in `referenceYear - 90` may be 89 or 90 during that year, so that year is collapsed too, and every
 * year after it implies an age of at most 89.
 */
export function topBirthYear(referenceYear: number): number {
  return referenceYear - 90;
}

/** The label of the collapsed category of birth years, `<=YYYY`. */
export function topBirthYearLabel(referenceYear: number): string {
  return `<=${topBirthYear(referenceYear)}`;
}

/**
 * Birth dates and birth years: the year, except that a year implying an age of 90 or more at the
 * reference year is collapsed into one category (Safe Harbor C: "all elements of dates (including
 * year) indicative of such age ... aggregated into a single category of age 90 or older").
 */
export function birthYear(value: unknown, referenceYear: number, alreadyYear = false): number | string | undefined {
  const year = alreadyYear ? parseYearOnly(value) : parseDateYear(value);
  if (year === undefined) return undefined;
  return year <= topBirthYear(referenceYear) ? topBirthYearLabel(referenceYear) : year;
}

/** A birth year, from a bare year or from a date. */
export function parseYearOnly(value: unknown): number | undefined {
  const text = typeof value === 'number' || typeof value === 'string' ? String(value).trim() : '';
  return /^\d{4}$/.test(text) ? Number(text) : parseDateYear(text);
}

/** Days since 1970-01-01 of the first day the parts can denote (for measuring how wide a generalisation is). */
export function dayNumber(year: number, month = 1, day = 1): number {
  return Date.UTC(year, month - 1, day) / 86_400_000;
}

function ymd(y: string | undefined, m: string | number | undefined, d: string | undefined): DateParts | undefined {
  const year = Number(y);
  if (!inRange(year, 1000, 9999)) return undefined;
  if (m === undefined) return { year };
  const month = Number(m);
  if (!inRange(month, 1, 12)) return undefined;
  if (d === undefined) return { year, month };
  const day = Number(d);
  return inRange(day, 1, 31) ? { year, month, day } : undefined;
}

function dayAndMonth(a: number, b: number, monthFirst: boolean, year: string | undefined): DateParts | undefined {
  const usOrder = monthFirst ? inRange(a, 1, 12) && inRange(b, 1, 31) : !(inRange(b, 1, 12) && inRange(a, 1, 31)) && inRange(a, 1, 12) && inRange(b, 1, 31);
  if (usOrder) return ymd(year, a, String(b));
  return inRange(a, 1, 31) && inRange(b, 1, 12) ? ymd(year, b, String(a)) : undefined;
}

function monthOf(name: string | undefined): number | undefined {
  const index = MONTHS.indexOf((name ?? '').slice(0, 3).toLowerCase());
  return index < 0 ? undefined : index + 1;
}

function inRange(x: number, lo: number, hi: number): boolean {
  return Number.isInteger(x) && x >= lo && x <= hi;
}
