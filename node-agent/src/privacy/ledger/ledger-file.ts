import { isRdpVector, type RdpVector } from '../accountant/rdp-vector.js';
import { PrivacyError } from '../errors.js';

export const LEDGER_FORMAT = 'medfed-privacy-ledger/v1';

export interface PrivacyBudget {
  readonly epsilon: number;
  readonly delta: number;
}

/** One DP release charged to a dataset. */
export interface LedgerEntry {
  readonly id: string;
  /** ISO 8601 time of the charge. */
  readonly at: string;
  readonly purpose: string;
  readonly job?: string;
  /** The release's own (epsilon, delta); for an RDP entry, its curve converted alone at `delta`. */
  readonly epsilon: number;
  readonly delta: number;
  /** `basic`: composed by adding (epsilon, delta). `rdp`: its curve is added to the dataset's RDP curve. */
  readonly accounting: 'basic' | 'rdp';
  readonly rdp?: RdpVector;
}

export interface LedgerFile {
  readonly format: typeof LEDGER_FORMAT;
  readonly dataset: string;
  readonly budget: PrivacyBudget | null;
  readonly entries: readonly LedgerEntry[];
}

export function emptyLedger(dataset: string): LedgerFile {
  return { format: LEDGER_FORMAT, dataset, budget: null, entries: [] };
}

/** Parses and checks a ledger file; anything unexpected is PRIVACY_LEDGER_CORRUPT (spends stop). */
export function parseLedger(text: string, path: string, dataset: string): LedgerFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw corrupt(path, 'it is not valid JSON');
  }
  if (typeof value !== 'object' || value === null) throw corrupt(path, 'it is not a JSON object');
  const file = value as Partial<LedgerFile>;
  if (file.format !== LEDGER_FORMAT) throw corrupt(path, `its format is not ${LEDGER_FORMAT}`);
  if (file.dataset !== dataset) throw corrupt(path, `it belongs to dataset ${JSON.stringify(file.dataset)}, not ${JSON.stringify(dataset)}`);
  if (file.budget !== null && !isBudget(file.budget)) throw corrupt(path, 'its budget is not {epsilon >= 0, 0 <= delta < 1}');
  if (!Array.isArray(file.entries)) throw corrupt(path, 'its entries are not a list');
  file.entries.forEach((entry, index) => {
    if (!isEntry(entry)) throw corrupt(path, `entry ${index} is malformed`);
  });
  return file as LedgerFile;
}

export function isBudget(value: unknown): value is PrivacyBudget {
  if (typeof value !== 'object' || value === null) return false;
  const { epsilon, delta } = value as Partial<PrivacyBudget>;
  return isNonNegative(epsilon) && isNonNegative(delta) && delta < 1;
}

function isEntry(value: unknown): value is LedgerEntry {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Partial<LedgerEntry>;
  const basicOk = typeof e.id === 'string' && typeof e.at === 'string' && typeof e.purpose === 'string';
  const numbersOk = isNonNegative(e.epsilon) && isNonNegative(e.delta);
  const jobOk = e.job === undefined || typeof e.job === 'string';
  const accountingOk = e.accounting === 'basic' || (e.accounting === 'rdp' && isRdpVector(e.rdp));
  return basicOk && numbersOk && jobOk && accountingOk;
}

function isNonNegative(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x) && x >= 0;
}

function corrupt(path: string, why: string): PrivacyError {
  return new PrivacyError(
    'PRIVACY_LEDGER_CORRUPT',
    `the privacy ledger ${path} cannot be used: ${why}; restore it from backup (spends are refused until then)`,
    { path },
  );
}
