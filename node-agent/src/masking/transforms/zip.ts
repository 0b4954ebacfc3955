/**
 * ZIP codes. Safe Harbor (B) keeps the first three digits only when the area they cover holds more
 * than 20,000 people; HHS lists the three-digit prefixes that do not (2000 census), which become "000".
 */
export const RESTRICTED_ZIP3: ReadonlySet<string> = new Set([
  '036', '059', '063', '102', '203', '556', '692', '790', '821', '823', '830', '831', '878', '879', '884', '890', '893',
]);

/** "02139" / "02139-4307" / 2139 (a spreadsheet dropped the leading zero) -> "021"; anything else -> undefined. */
export function zip3(value: unknown): string | undefined {
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
  const m = /^(\d{3})\d{2}(-?\d{4})?$/.exec(text);
  if (!m) return undefined;
  const prefix = m[1] as string;
  return RESTRICTED_ZIP3.has(prefix) ? '000' : prefix;
}
