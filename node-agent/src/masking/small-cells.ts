import type { Cell } from './cells.js';
import { MaskingError } from './errors.js';
import { DEFAULT_MIN_CELL_SIZE } from './policy.js';

export interface CountCell {
  readonly key: Readonly<Record<string, Cell>>;
  readonly count: number;
}

export interface ReleasedCell {
  readonly key: Readonly<Record<string, Cell>>;
  /** null when suppressed. */
  readonly count: number | null;
  readonly suppressed: boolean;
}

/**
 * Small-cell protection for counts: a cell describing fewer than `minCellSize` patients (default 11)
 * is suppressed (count null) or, with `onSmallCell: 'refuse'`, the whole result is refused with
 * MASK_SMALL_CELL. Totals are not released alongside, so a suppressed count cannot be recovered by
 * subtraction from them (no complementary suppression is attempted otherwise).
 */
export function suppressSmallCells(
  cells: readonly CountCell[],
  options: { readonly minCellSize?: number; readonly onSmallCell?: 'suppress' | 'refuse' } = {},
): { readonly cells: ReleasedCell[]; readonly suppressed: number } {
  const k = options.minCellSize ?? DEFAULT_MIN_CELL_SIZE;
  const small = cells.filter((c) => c.count > 0 && c.count < k);
  if (small.length > 0 && options.onSmallCell === 'refuse') {
    throw new MaskingError(
      'MASK_SMALL_CELL',
      `${small.length} of ${cells.length} cells would describe fewer than ${k} patients; widen the groups or drop a grouping field`,
      { minCellSize: k, smallCells: small.length },
    );
  }
  const released = cells.map((c) => (c.count > 0 && c.count < k ? { key: c.key, count: null, suppressed: true } : { key: c.key, count: c.count, suppressed: false }));
  return { cells: released, suppressed: small.length };
}
