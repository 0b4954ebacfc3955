/**
 * ZIP codes. Safe Harbor (B) keeps the first three digits only when the area they cover holds more
 * than 20,000 people, by "current publicly available data from the Bureau of the Census". Prefixes
 * that do not become "000". The list is the 2010 census's (HHS guidance's example list is the 2000
 * census's); prefixes on either list are restricted, so that data keyed to either census is covered.
 */
export const RESTRICTED_ZIP3_2010: ReadonlySet<string> = new Set([
  '036', '059', '102', '202', '203', '204', '205', '369', '556', '692', '753', '772', '821', '823', '878', '879', '884', '893',
]);

/** HHS's example list, from the 2000 census. */
export const RESTRICTED_ZIP3_2000: ReadonlySet<string> = new Set([
  '036', '059', '063', '102', '203', '556', '692', '790', '821', '823', '830', '831', '878', '879', '884', '890', '893',
]);

/** Every prefix that becomes "000". */
export const RESTRICTED_ZIP3: ReadonlySet<string> = new Set([...RESTRICTED_ZIP3_2010, ...RESTRICTED_ZIP3_2000]);

/** The three-digit prefix of a ZIP code before the population rule; undefined when it is not a ZIP code. */
export function zipPrefix(value: unknown): string | undefined {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value > 99999) return undefined;
    text = String(value).padStart(5, '0');
  } else if (typeof value === 'string') {
    text = value.trim();
    if (/^\d{4}$/.test(text)) text = `0${text}`;
  } else {
    return undefined;
  }
  return /^(\d{3})\d{2}(-?\d{4})?$/.exec(text)?.[1];
}

/** "02139" / "02139-4307" / 2139 (a spreadsheet dropped the leading zero) -> "021"; restricted -> "000"; anything else -> undefined. */
export function zip3(value: unknown): string | undefined {
  const prefix = zipPrefix(value);
  if (prefix === undefined) return undefined;
  return RESTRICTED_ZIP3.has(prefix) ? '000' : prefix;
}
