import { appendFile, mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseCheckpoint, toBase64, verifyCheckpoint } from '@medfed/proto/tlog/index';
import { TrustError } from './errors.js';
import { loadVerifierState, readOptional, REFUSED_CHECKPOINT_FILE, saveCheckpoint, writeState } from './verifier-state.js';

/**
 * Re-anchoring the agent's saved view of the coordinator's transparency log: the explicit,
 * recorded recovery after the coordinator's database was restored from a backup older than
 * checkpoints this site already verified (and co-signed). The agent refuses such a log for good
 * (TLOG_ROLLBACK, or TLOG_CONSISTENCY_INVALID once the restored log has grown past the saved size)
 * and never re-anchors by itself; only a site steward does, with the agent stopped, through
 * `medfed agent reanchor-log`, after checking the new checkpoint's size and root hash with the
 * coordinator's operators out of band. The old view is kept under `verification/superseded/`
 * and each re-anchoring is appended to `verification/reanchors.jsonl`.
 */

export const REANCHOR_RECORD_FORMAT = 'medfed-log-reanchor/v1';
export const REANCHOR_LOG_FILE = 'reanchors.jsonl';

/** One checkpoint as a steward compares it: origin, tree size and base64 root hash (the note's body). */
export interface LogView {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: string;
}

/**
 * How the candidate stands to the saved view: `smaller` is a rollback; `same-size-other-root` a fork;
 * `larger` cannot be judged without a consistency proof (the agent judges it when it downloads: a
 * candidate it refused does not extend the saved view); `same`: nothing to do.
 */
export type ViewRelation = 'no-saved-view' | 'same' | 'smaller' | 'same-size-other-root' | 'larger';

export interface ReanchorPlan {
  readonly stateDir: string;
  /** `<stateDir>/verification`. */
  readonly dir: string;
  readonly saved: LogView | null;
  readonly savedNote: string | null;
  /** The checkpoint to anchor on, its signature verified with the pinned log key. */
  readonly candidate: LogView;
  readonly candidateNote: string;
  /** The file the candidate came from (the agent's refused checkpoint, or one given by the operators). */
  readonly source: string;
  readonly relation: ViewRelation;
  /** The checkpoint the agent last refused, when there is one. */
  readonly refusedNote: string | null;
}

export interface ReanchorRecord {
  readonly format: typeof REANCHOR_RECORD_FORMAT;
  readonly at: string;
  /** Who confirmed it (the steward), and why. */
  readonly by: string;
  readonly reason: string;
  readonly source: string;
  readonly relation: ViewRelation;
  readonly previous: LogView | null;
  readonly anchor: LogView;
  readonly previousNote: string | null;
  readonly anchorNote: string;
  /** The checkpoint the agent had refused (evidence of the rollback or fork), when there was one. */
  readonly refusedNote: string | null;
  /** Where the previous view was moved. */
  readonly superseded: string | null;
}

/** The checkpoint body of a signed note, as a view (no signature check: the caller verified it, or it is the agent's own saved note). */
export function viewOfNote(note: string): LogView {
  const cp = parseCheckpoint(note.slice(0, note.indexOf('\n\n') + 1));
  return { origin: cp.origin, size: cp.size, rootHash: toBase64(cp.rootHash) };
}

function relationOf(saved: LogView | null, candidate: LogView): ViewRelation {
  if (!saved) return 'no-saved-view';
  if (candidate.size < saved.size) return 'smaller';
  if (candidate.size > saved.size) return 'larger';
  return candidate.rootHash === saved.rootHash ? 'same' : 'same-size-other-root';
}


/**
 * What a re-anchoring would do, changing nothing: the saved view, the candidate checkpoint (from
 * `checkpointFile`, else the checkpoint the agent last refused) verified against the pinned log
 * key, and how the two relate. Null when no file is given and the agent refused nothing.
 */
export async function planReanchor(options: { stateDir: string; checkpointKey: string | undefined; checkpointFile?: string | undefined }): Promise<ReanchorPlan | null> {
  const key = options.checkpointKey?.trim();
  if (!key) {
    throw new TrustError('TRUST_ANCHORS_MISSING', "re-anchoring needs the coordinator's pinned log key (trust.checkpointKey in the agent configuration): without it no checkpoint can be checked");
  }
  const state = await loadVerifierState(options.stateDir);
  const refusedPath = join(state.dir, REFUSED_CHECKPOINT_FILE);
  const refusedNote = await readOptional(refusedPath);
  const source = options.checkpointFile !== undefined ? resolve(options.checkpointFile) : refusedPath;
  const candidateNote = options.checkpointFile !== undefined ? await readOptional(source) : refusedNote;
  if (candidateNote === null) {
    if (options.checkpointFile !== undefined) throw new TrustError('TRUST_STATE_INVALID', `${source} does not exist`);
    return null;
  }
  // Only a checkpoint the coordinator's pinned log key signed can become the view (CHECKPOINT_SIGNATURE_INVALID, ... otherwise).
  const { checkpoint } = verifyCheckpoint(candidateNote, key);
  const candidate: LogView = { origin: checkpoint.origin, size: checkpoint.size, rootHash: toBase64(checkpoint.rootHash) };
  let saved: LogView | null = null;
  if (state.checkpoint) {
    try {
      saved = viewOfNote(state.checkpoint);
    } catch (err) {
      throw new TrustError('TRUST_STATE_INVALID', `${join(state.dir, 'checkpoint.txt')} is not a checkpoint: ${(err as Error).message}`, undefined, { cause: err });
    }
  }
  return {
    stateDir: options.stateDir, dir: state.dir, saved, savedNote: state.checkpoint, candidate, candidateNote, source,
    relation: relationOf(saved, candidate), refusedNote,
  };
}

/**
 * Re-anchors on `plan.candidate`: records it (reanchors.jsonl, appended before anything changes),
 * moves the saved view to `superseded/`, saves the candidate as the view, and removes the refused
 * checkpoint. The caller has the steward's confirmation; the agent must be stopped (a running agent
 * keeps its view in memory): if the saved view changed since the plan, nothing is done.
 */
export async function applyReanchor(plan: ReanchorPlan, options: { by: string; reason: string; now?: Date }): Promise<ReanchorRecord> {
  const state = await loadVerifierState(plan.stateDir);
  if (state.checkpoint !== plan.savedNote) {
    throw new TrustError('TRUST_STATE_INVALID', `the agent's saved view in ${state.dir} changed while re-anchoring (is the agent running? stop it first); nothing was changed`);
  }
  const at = (options.now ?? new Date()).toISOString();
  let superseded: string | null = null;
  if (plan.savedNote !== null && plan.saved) {
    const dir = join(plan.dir, 'superseded');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    superseded = join(dir, `checkpoint-${plan.saved.size}-${at.replace(/[:.]/g, '-')}.txt`);
  }
  const record: ReanchorRecord = {
    format: REANCHOR_RECORD_FORMAT, at, by: options.by, reason: options.reason, source: plan.source, relation: plan.relation,
    previous: plan.saved, anchor: plan.candidate, previousNote: plan.savedNote, anchorNote: plan.candidateNote,
    refusedNote: plan.refusedNote, superseded,
  };
  await appendFile(join(plan.dir, REANCHOR_LOG_FILE), `${JSON.stringify(record)}\n`, { mode: 0o600 });
  if (superseded !== null) await writeState(superseded, plan.savedNote!);
  await saveCheckpoint(state, plan.candidateNote);
  await rm(join(plan.dir, REFUSED_CHECKPOINT_FILE), { force: true });
  return record;
}

/** Every re-anchoring recorded in the agent's state dir, oldest first. */
export async function readReanchorRecords(stateDir: string): Promise<ReanchorRecord[]> {
  const text = await readOptional(join(stateDir, 'verification', REANCHOR_LOG_FILE));
  if (!text) return [];
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as ReanchorRecord);
}
