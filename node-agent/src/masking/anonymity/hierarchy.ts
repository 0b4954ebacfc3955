import { SUPPRESSED, type Cell } from '../cells.js';

/** A value as it came in (see rawValue); undefined when missing. */
export type Raw = string | number | boolean;

/**
 * One level of a generalisation hierarchy. `cell` coarsens a raw value (undefined: cannot, the value
 * is withheld); `range` gives the interval of the field's scale the cell stands for, when the field
 * has a scale (ages, dates, numbers), for the certainty penalty. `exact`: the level is the value
 * itself. Level 0 is what the plan shows; its cells are the masked values as they are.
 */
export interface LevelSpec {
  readonly label: string;
  readonly cell: (raw: Raw) => Cell | undefined;
  readonly range?: (raw: Raw) => readonly [number, number] | undefined;
  readonly exact?: boolean;
}

/** The scale of an interval hierarchy: a raw value's position on it (a number, a day, a year). */
export type Scale = (raw: Raw) => number | undefined;

export interface Level {
  readonly label: string;
  readonly cells: readonly Cell[];
  /** Normalised certainty penalty per row: 0 the exact value, 1 nothing left (0 for a missing value). */
  readonly loss: readonly number[];
}

/** A quasi-identifier's levels, from what the plan shows (0) to "*" (the last). */
export interface Hierarchy {
  readonly field: string;
  readonly levels: readonly Level[];
  /** Rows that have a value: only they count towards the field's penalty. */
  readonly present: readonly boolean[];
}

/**
 * Materialises a hierarchy over the rows: level 0 keeps the shown cells, the others apply their
 * spec to the raw values, and "*" tops it. The penalty of a cell is, on a scale, the width of its
 * interval over the width of the values' range (NCP for numbers); without a scale, the number of
 * distinct raw values its cell groups together, less one, over the number of distinct values less
 * one (NCP for categories). A withheld value and "*" cost 1.
 */
export function buildHierarchy(field: string, raws: readonly (Raw | undefined)[], shown: readonly Cell[], specs: readonly LevelSpec[], scale?: Scale): Hierarchy {
  const present = raws.map((r) => r !== undefined);
  const positions = scale === undefined ? [] : raws.map((r) => (r === undefined ? undefined : scale(r)));
  const known = positions.filter((x): x is number => x !== undefined);
  const min = Math.min(...known);
  const max = Math.max(...known);
  const levels = specs.map((spec, index): Level => {
    const cells = raws.map((raw, row) => (index === 0 ? (shown[row] ?? null) : raw === undefined ? null : (spec.cell(raw) ?? null)));
    const loss =
      scale === undefined || spec.range === undefined
        ? categoryLoss(raws, cells, spec.exact === true)
        : raws.map((raw, row) => {
            if (raw === undefined) return 0;
            if (spec.exact === true) return 0;
            if (cells[row] === null) return 1;
            const range = spec.range?.(raw);
            if (range === undefined || !(max > min)) return range === undefined ? 1 : 0;
            const lo = Math.max(min, range[0]);
            const hi = Math.min(max, range[1]);
            return Math.min(1, Math.max(0, (hi - lo) / (max - min)));
          });
    return { label: spec.label, cells, loss };
  });
  levels.push({ label: 'suppressed', cells: raws.map((r) => (r === undefined ? null : SUPPRESSED)), loss: present.map((p) => (p ? 1 : 0)) });
  return { field, levels, present };
}

function categoryLoss(raws: readonly (Raw | undefined)[], cells: readonly Cell[], exact: boolean): number[] {
  const distinct = new Set(raws.filter((r) => r !== undefined).map((r) => String(r).trim()));
  const grouped = new Map<string, Set<string>>();
  raws.forEach((raw, row) => {
    if (raw === undefined || cells[row] === null) return;
    const key = JSON.stringify(cells[row]);
    const group = grouped.get(key) ?? new Set<string>();
    group.add(String(raw).trim());
    grouped.set(key, group);
  });
  return raws.map((raw, row) => {
    if (raw === undefined || exact) return 0;
    if (cells[row] === null) return 1;
    if (distinct.size <= 1) return 0;
    return ((grouped.get(JSON.stringify(cells[row]))?.size ?? 1) - 1) / (distinct.size - 1);
  });
}

/** The penalty of one field at one level, with some rows suppressed: the mean over the rows that have a value. */
export function fieldLoss(h: Hierarchy, level: number, suppressed: readonly boolean[]): number {
  const { loss } = h.levels[level] as Level;
  let sum = 0;
  let n = 0;
  h.present.forEach((p, row) => {
    if (!p) return;
    n++;
    sum += suppressed[row] === true ? 1 : (loss[row] as number);
  });
  return n === 0 ? 0 : sum / n;
}
