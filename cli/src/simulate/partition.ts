import { SimulateError } from './errors.js';
import { parsePartitionScheme, type PartitionScheme } from './partition-scheme.js';
import { dirichlet, seededRandom, shuffleInPlace, type SeededRandom } from './random.js';
import { rowsByClass } from './stratified-split.js';

export interface PartitionInput {
  /** One label per row; rows are referred to by their index here. */
  readonly labels: readonly string[];
  /** Per-row values of columns a `by-column:COLUMN` scheme may name. */
  readonly columns?: Readonly<Record<string, readonly string[]>>;
}

export interface PartitionOptions {
  /** Fewest rows any site may get. Default: min(10, floor(rows / k)), at least 1. */
  readonly minRowsPerSite?: number;
}

/**
 * Deals rows to `k` simulated sites; returns each site's row indices, ascending.
 * - `iid`: each class shuffled and dealt round-robin, so sizes differ by at most one and every site
 *   sees the same label mix.
 * - `dirichlet:ALPHA`: for each class, site shares drawn from Dir(ALPHA, ..., ALPHA) and that class's
 *   shuffled rows cut by the cumulative shares (label skew; smaller ALPHA, stronger skew).
 *   Minimum-size rule: while a site has fewer than `minRowsPerSite` rows, it takes one row from the
 *   currently largest site, of that site's most plentiful class; skew is kept except at the margin.
 * - `by-column:COLUMN`: rows grouped by the column's value; groups, largest first, go to the site
 *   with fewest rows so far. Needs at least k distinct values, and every site must reach the minimum.
 */
export function partition(input: PartitionInput, k: number, scheme: PartitionScheme | string, seed: number, options: PartitionOptions = {}): number[][] {
  const parsed = typeof scheme === 'string' ? parsePartitionScheme(scheme) : scheme;
  const n = input.labels.length;
  if (!Number.isSafeInteger(k) || k < 1) throw new SimulateError('SIMULATE_ARGUMENT_INVALID', `Site count must be a positive integer, got ${k}.`);
  const minRows = options.minRowsPerSite ?? Math.max(1, Math.min(10, Math.floor(n / k)));
  if (!Number.isSafeInteger(minRows) || minRows < 1) {
    throw new SimulateError('SIMULATE_ARGUMENT_INVALID', `minRowsPerSite must be a positive integer, got ${minRows} (with ${n} rows and ${k} sites).`);
  }
  if (n < k * minRows) {
    throw new SimulateError('SIMULATE_PARTITION_INFEASIBLE', `${n} rows cannot give ${k} sites at least ${minRows} rows each; use fewer sites or more rows.`);
  }
  const random = seededRandom(seed);
  let sites: number[][];
  switch (parsed.kind) {
    case 'iid':
      sites = dealIid(input.labels, k, random);
      break;
    case 'dirichlet':
      sites = topUp(dealDirichlet(input.labels, k, parsed.alpha, random), input.labels, minRows);
      break;
    case 'by-column':
      sites = dealByColumn(input, k, parsed.column, minRows);
      break;
  }
  return sites.map((rows) => rows.sort((a, b) => a - b));
}

function dealIid(labels: readonly string[], k: number, random: SeededRandom): number[][] {
  const sites: number[][] = Array.from({ length: k }, () => []);
  let position = 0;
  for (const rows of rowsByClass(labels).values()) {
    shuffleInPlace(rows, random);
    for (const row of rows) sites[position++ % k]!.push(row);
  }
  return sites;
}

function dealDirichlet(labels: readonly string[], k: number, alpha: number, random: SeededRandom): number[][] {
  const sites: number[][] = Array.from({ length: k }, () => []);
  for (const rows of rowsByClass(labels).values()) {
    shuffleInPlace(rows, random);
    const shares = dirichlet(random, alpha, k);
    let cumulative = 0;
    let start = 0;
    shares.forEach((share, site) => {
      cumulative += share;
      const end = site === k - 1 ? rows.length : Math.round(cumulative * rows.length);
      sites[site]!.push(...rows.slice(start, end));
      start = Math.max(start, end);
    });
  }
  return sites;
}

/** Moves single rows from the largest site to any site below `minRows` (see `partition`). */
function topUp(sites: number[][], labels: readonly string[], minRows: number): number[][] {
  for (;;) {
    const recipient = indexOfExtreme(sites, (a, b) => a < b);
    if (sites[recipient]!.length >= minRows) return sites;
    const donor = indexOfExtreme(sites, (a, b) => a > b);
    const donorRows = sites[donor]!;
    const counts = new Map<string, number>();
    for (const row of donorRows) counts.set(labels[row]!, (counts.get(labels[row]!) ?? 0) + 1);
    let plentiful = '';
    let most = -1;
    for (const [label, count] of counts) {
      if (count > most) [plentiful, most] = [label, count];
    }
    const at = donorRows.findLastIndex((row) => labels[row] === plentiful);
    sites[recipient]!.push(donorRows.splice(at, 1)[0]!);
  }
}

/** Index of the site whose size wins `better` (first such site on ties). */
function indexOfExtreme(sites: readonly number[][], better: (a: number, b: number) => boolean): number {
  let best = 0;
  sites.forEach((rows, i) => {
    if (better(rows.length, sites[best]!.length)) best = i;
  });
  return best;
}

function dealByColumn(input: PartitionInput, k: number, column: string, minRows: number): number[][] {
  const values = input.columns?.[column];
  if (values === undefined) {
    const available = Object.keys(input.columns ?? {});
    throw new SimulateError(
      'SIMULATE_ARGUMENT_INVALID',
      `by-column:${column} needs the values of column "${column}"; ${available.length === 0 ? 'no columns were supplied' : `supplied: ${available.join(', ')}`}.`,
    );
  }
  if (values.length !== input.labels.length) {
    throw new SimulateError('SIMULATE_ARGUMENT_INVALID', `Column "${column}" has ${values.length} values for ${input.labels.length} rows.`);
  }
  const groups = [...rowsByClass(values)].sort(([va, ra], [vb, rb]) => rb.length - ra.length || (va < vb ? -1 : va > vb ? 1 : 0));
  if (groups.length < k) {
    throw new SimulateError('SIMULATE_PARTITION_INFEASIBLE', `Column "${column}" has ${groups.length} distinct values; ${k} sites need at least ${k}.`);
  }
  const sites: number[][] = Array.from({ length: k }, () => []);
  for (const [, rows] of groups) sites[indexOfExtreme(sites, (a, b) => a < b)]!.push(...rows);
  const small = sites.findIndex((rows) => rows.length < minRows);
  if (small >= 0) {
    throw new SimulateError('SIMULATE_PARTITION_INFEASIBLE', `Splitting by "${column}" leaves site ${small + 1} with ${sites[small]!.length} rows, fewer than the minimum ${minRows}.`);
  }
  return sites;
}
