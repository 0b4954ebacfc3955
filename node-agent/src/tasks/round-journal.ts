import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex } from '@medfed/proto';
import { syncDirectory, writeFileAtomic } from '../privacy/ledger/atomic-write.js';
import type { RoundCharge } from '../privacy-chain/charge-dp.js';

export const ROUND_JOURNAL_FORMAT = 'medfed-round-journal/v1';

/** What makes two runs of a round the same computation. */
export interface RoundKey {
  readonly job: string;
  readonly round: number;
  readonly kind: 'train' | 'evaluate';
  /** The key epoch of an encrypted job; 0 for plaintext. */
  readonly epoch: number;
  /** SHA-256 of the round's input model: the global weights as float32 bytes. */
  readonly inputSha256: string;
}

export interface RoundMetrics {
  readonly loss: number;
  readonly accuracy: number;
  readonly numSamples: number;
  /**
   * Evaluations: SHA-256 of the evaluated global model's float32 bytes, reported so that the
   * coordinator sees whether the sites hold the same model. Absent in records written before it
   * existed (and in train metrics): reported as ''.
   */
  readonly paramsSha256?: string;
}

/** Written in the step that charges the ledger, before training. */
export interface TrainingRecord {
  /** What the ledger charge returned (null: the job has no DP). */
  readonly charge: RoundCharge | null;
  /** The ledger entry's idempotency key. */
  readonly chargeId: string;
  readonly seed: number;
}

/**
 * A semi-asynchronous job's late update: the round closed before this site's update arrived, so the
 * stored bytes are the same clipped delta sent to a later open round, weighted for its staleness.
 */
export interface LateUpload {
  /** The round the bytes are sent to and count in. */
  readonly round: number;
  /** round - the round trained for (>= 1). */
  readonly staleness: number;
}

/** Written with the update bytes, after training; everything a resend needs besides the bytes. */
export interface UploadRecord {
  readonly sha256: string;
  readonly byteSize: number;
  readonly train: RoundMetrics;
  readonly updateNorm: number | null;
  readonly clipped: boolean;
  readonly encrypted: boolean;
  /** Absent: the bytes are for the record's own round. */
  readonly late?: LateUpload;
}

/** One (job, round) at this site; each stage adds to it. */
export interface RoundRecord {
  readonly format: typeof ROUND_JOURNAL_FORMAT;
  readonly key: RoundKey;
  /** The evaluation of the incoming model, stored before it is reported, so a resend is identical. */
  readonly eval?: RoundMetrics;
  readonly training?: TrainingRecord;
  readonly upload?: UploadRecord;
  /** The coordinator acknowledged the stored update (its receipt's digest): the task is no longer handed out. */
  readonly accepted?: string;
  /** The coordinator acknowledged the train metrics: nothing of the round is left to send. */
  readonly trainReported?: boolean;
  /**
   * The update counts nowhere: a semi-asynchronous round closed before it arrived and no later round
   * took it (too stale, no round open). It stays charged; its bytes are never sent again.
   */
  readonly dropped?: boolean;
}

export type JournalRead =
  | { readonly state: 'absent' }
  /** The record could not be parsed: the round starts afresh (the ledger still charges it at most once). */
  | { readonly state: 'unreadable'; readonly reason: string }
  /** `bytes`: the stored update, checked against the record; null (and `upload` dropped) when missing or damaged. */
  | { readonly state: 'found'; readonly record: RoundRecord; readonly bytes: Buffer | null; readonly damaged: boolean };

/**
 * The round journal in `<stateDir>/rounds/<job>/`: per round `round-<n>.json` (the record) and
 * `round-<n>.update` (the exact upload bytes, which for an encrypted job are ciphertext; never
 * records). Directories 0700, files 0600, every write atomic and fsynced (temp file, fsync,
 * rename, fsync of the directory): after a crash a file is either the old or the new version.
 */
export class RoundJournal {
  readonly root: string;

  constructor(stateDir: string) {
    this.root = join(stateDir, 'rounds');
  }

  paths(job: string, round: number): { dir: string; record: string; update: string } {
    const dir = join(this.root, jobDirName(job));
    return { dir, record: join(dir, `round-${round}.json`), update: join(dir, `round-${round}.update`) };
  }

  async read(job: string, round: number): Promise<JournalRead> {
    const paths = this.paths(job, round);
    let text: string;
    try {
      text = await readFile(paths.record, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'absent' };
      throw err;
    }
    const record = parseRecord(text, job, round);
    if (typeof record === 'string') return { state: 'unreadable', reason: record };
    if (!record.upload) return { state: 'found', record, bytes: null, damaged: false };
    const bytes = await readFile(paths.update).catch(() => null);
    if (bytes && bytes.byteLength === record.upload.byteSize && sha256Hex(bytes) === record.upload.sha256) {
      return { state: 'found', record, bytes, damaged: false };
    }
    const { upload: _, ...rest } = record;
    return { state: 'found', record: rest, bytes: null, damaged: true };
  }

  async write(record: RoundRecord): Promise<void> {
    const { dir, record: path } = this.paths(record.key.job, record.key.round);
    await this.#ensureDir(dir);
    await writeFileAtomic(path, `${JSON.stringify(record, null, 2)}\n`, 0o600);
  }

  /** The bytes first, then the record that names their digest: a record never points at bytes not on disk. */
  async writeUpload(record: RoundRecord & { readonly upload: UploadRecord }, bytes: Uint8Array): Promise<void> {
    const { dir, update } = this.paths(record.key.job, record.key.round);
    await this.#ensureDir(dir);
    await writeFileAtomic(update, bytes, 0o600);
    await this.write(record);
  }

  /** Every readable record (for the train metrics a crash left unsent). */
  async records(): Promise<RoundRecord[]> {
    const out: RoundRecord[] = [];
    for (const dir of await readdir(this.root).catch(() => [] as string[])) {
      for (const name of await readdir(join(this.root, dir)).catch(() => [] as string[])) {
        if (!/^round-\d+\.json$/.test(name)) continue;
        const text = await readFile(join(this.root, dir, name), 'utf8').catch(() => null);
        const value = text === null ? null : (() => { try { return JSON.parse(text) as Partial<RoundRecord>; } catch { return null; } })();
        const key = value?.key;
        if (!key || typeof key.job !== 'string' || !Number.isInteger(key.round)) continue;
        const record = parseRecord(text!, key.job, key.round);
        if (typeof record !== 'string' && join(this.root, dir) === this.paths(key.job, key.round).dir) out.push(record);
      }
    }
    return out;
  }

  async discard(job: string, round: number): Promise<void> {
    const paths = this.paths(job, round);
    await rm(paths.record, { force: true });
    await rm(paths.update, { force: true });
  }

  async #ensureDir(dir: string): Promise<void> {
    const created = await mkdir(dir, { recursive: true, mode: 0o700 });
    if (created !== undefined) {
      await chmod(this.root, 0o700);
      await chmod(dir, 0o700);
      await syncDirectory(this.root);
      await syncDirectory(join(this.root, '..'));
    }
  }
}

/**
 * Removes journals not written for `maxAgeMs` (their jobs' deadlines are long past; a coordinator
 * would not hand their tasks out again). Returns how many rounds were removed.
 */
export async function pruneRoundJournals(stateDir: string, maxAgeMs: number, now = Date.now()): Promise<number> {
  const root = new RoundJournal(stateDir).root;
  const jobs = await readdir(root).catch(() => [] as string[]);
  let removed = 0;
  for (const job of jobs) {
    const dir = join(root, job);
    const files = await readdir(dir).catch(() => [] as string[]);
    for (const name of files) {
      const path = join(dir, name);
      const info = await stat(path).catch(() => null);
      if (!info?.isFile() || now - info.mtimeMs <= maxAgeMs) continue;
      await rm(path, { force: true });
      if (name.endsWith('.json')) removed++;
    }
    await rmdir(dir).catch(() => undefined); // only when empty
  }
  return removed;
}

/** Job ids become directory names: as they are when plainly safe, else by digest. */
function jobDirName(job: string): string {
  return /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/.test(job) ? job : `job-${createHash('sha256').update(job).digest('hex').slice(0, 32)}`;
}

function parseRecord(text: string, job: string, round: number): RoundRecord | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'it is not JSON';
  }
  const r = value as Partial<RoundRecord> | null;
  if (!r || typeof r !== 'object' || r.format !== ROUND_JOURNAL_FORMAT) return `its format is not ${ROUND_JOURNAL_FORMAT}`;
  const k = r.key as Partial<RoundKey> | undefined;
  if (!k || k.job !== job || k.round !== round || (k.kind !== 'train' && k.kind !== 'evaluate')
    || !Number.isInteger(k.epoch) || typeof k.inputSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(k.inputSha256)) {
    return `its key is not job ${job} round ${round}`;
  }
  if (r.eval !== undefined && !isMetrics(r.eval)) return 'its evaluation is malformed';
  if (r.training !== undefined && !(typeof r.training?.chargeId === 'string' && Number.isInteger(r.training.seed)
    && (r.training.charge === null || typeof r.training.charge === 'object'))) return 'its training record is malformed';
  if (r.upload !== undefined && !(r.training !== undefined && typeof r.upload?.sha256 === 'string' && Number.isInteger(r.upload.byteSize)
    && isMetrics(r.upload.train) && (r.upload.late === undefined || isLate(r.upload.late, round)))) return 'its upload record is malformed';
  return r as RoundRecord;
}

function isLate(l: unknown, round: number): l is LateUpload {
  const x = l as Partial<LateUpload> | null;
  return !!x && Number.isSafeInteger(x.round) && Number.isSafeInteger(x.staleness) && x.staleness! >= 1 && x.round === round + x.staleness!;
}

function isMetrics(m: unknown): m is RoundMetrics {
  const x = m as Partial<RoundMetrics> | null;
  return !!x && typeof x.loss === 'number' && typeof x.accuracy === 'number' && Number.isInteger(x.numSamples)
    && (x.paramsSha256 === undefined || (typeof x.paramsSha256 === 'string' && /^[0-9a-f]{64}$/.test(x.paramsSha256)));
}

export function sameRoundKey(a: RoundKey, b: RoundKey): boolean {
  return a.job === b.job && a.round === b.round && a.kind === b.kind && a.epoch === b.epoch && a.inputSha256 === b.inputSha256;
}
