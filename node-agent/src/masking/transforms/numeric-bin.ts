/** Numeric generalisation: the half-open bin [k*w, (k+1)*w) holding the value, as "[lo,hi)". */
export function numericBin(value: unknown, width: number): string | undefined {
  const text = typeof value === 'number' || typeof value === 'string' ? String(value).trim() : '';
  if (text === '' || !(width > 0) || !Number.isFinite(width)) return undefined;
  const x = Number(text);
  if (!Number.isFinite(x)) return undefined;
  const lo = Math.floor(x / width) * width;
  return `[${tidy(lo)},${tidy(lo + width)})`;
}

function tidy(x: number): string {
  return String(Number(x.toPrecision(12)));
}
