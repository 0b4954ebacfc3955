/**
 * Small-cell suppression of pooled counts. A cell describing fewer than `minCellSize` patients is
 * suppressed (with noise, any count under the threshold, negatives included). The published total
 * would give a lone suppressed cell away by subtraction, so when exactly one cell is suppressed the
 * smallest other non-empty cell is suppressed too (complementary suppression).
 */
export interface SuppressionOutcome {
  /** Per cell: suppressed or not. */
  readonly suppressed: readonly boolean[];
  /** Cells suppressed only to protect another (complementary). */
  readonly complementary: readonly number[];
}

export function suppressCells(counts: readonly number[], minCellSize: number, noisy: boolean): SuppressionOutcome {
  const small = (c: number) => (noisy ? c < minCellSize : c > 0 && c < minCellSize);
  const suppressed = counts.map(small);
  const complementary: number[] = [];
  if (suppressed.filter(Boolean).length === 1) {
    let pick = -1;
    counts.forEach((c, i) => {
      if (suppressed[i] || c <= 0) return;
      if (pick < 0 || c < counts[pick]!) pick = i;
    });
    if (pick >= 0) {
      suppressed[pick] = true;
      complementary.push(pick);
    }
  }
  return { suppressed, complementary };
}
