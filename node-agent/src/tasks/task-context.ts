import { MedfedError, type JobSpec, type Standardization, type Task } from '@medfed/proto';
import type { Logger } from 'pino';
import type { CoordinatorClient } from '../transport/client.js';
import type { LocalDataset } from '../data/index.js';
import type { JobKeyStore, WrappedJobKey } from '../custody/job-key-store.js';
import type { TrainerSandbox } from '../sandbox/index.js';
import type { Attester } from '@medfed/proto/attestation/index';
import type { TrainedUpdates } from './trained-updates.js';

export interface TaskContext {
  readonly client: CoordinatorClient;
  readonly siteId: string;
  readonly dataset: LocalDataset;
  readonly log: Logger;
  readonly task: Task;
  readonly spec: JobSpec;
  readonly standardization: Standardization | undefined;
  /** The agent's private state directory (key files, the decrypted-model cache). */
  readonly stateDir: string;
  readonly keyStore: JobKeyStore;
  /** The wrapped key of one key epoch (0: the latest); a chain link names the epoch its sum is under. */
  fetchWrappedKey(jobId: string, epoch?: number): Promise<WrappedJobKey>;
  /** Where the untrusted trainer runs (bubblewrap; an unsandboxed fallback only in development). */
  readonly sandbox: TrainerSandbox;
  /** Signs the attestation of an update with the node's attestation key. */
  readonly attester: Attester;
  /** The site's own privacy budget (its policy has the last word over what a job asks). */
  readonly privacy: { readonly dataset: string; readonly budgetEpsilon: number; readonly budgetDelta: number };
  /**
   * Retries a call in place while it fails transiently, until the task's deadline (the agent's retry
   * policy), for a step after which the task is no longer handed out again. Absent: one attempt.
   */
  readonly retryInPlace?: <T>(what: string, fn: () => Promise<T>) => Promise<T>;
  /**
   * The clipped deltas this agent trained (semi-asynchronous jobs re-send one to a later round).
   * Absent: only the delta of the task's own run is at hand.
   */
  readonly trainedUpdates?: TrainedUpdates;
  /**
   * Development simulations (development.trainingSlowdown): local training is followed by a wait of
   * (factor - 1) x its wall time, as on a slower site; the signal ends the wait when the agent stops.
   */
  readonly trainingSlowdown?: { readonly factor: number; readonly signal?: AbortSignal };
}

/**
 * The agent does not trust the coordinator's JSON: a task whose spec is malformed is refused
 * before any local data is touched.
 */
export function parseTaskSpec(task: Task): { spec: JobSpec; standardization: Standardization | undefined } {
  let spec: JobSpec;
  let standardization: Standardization | undefined;
  try {
    spec = JSON.parse(task.jobSpecJson) as JobSpec;
    standardization = task.standardizationJson ? (JSON.parse(task.standardizationJson) as Standardization) : undefined;
  } catch {
    throw new MedfedError('TASK_INVALID', `task for job ${task.jobId} carries a job spec that is not JSON`);
  }
  const strings = (xs: unknown) => Array.isArray(xs) && xs.every((x) => typeof x === 'string');
  if (!spec || !strings(spec.features) || !strings(spec.classes) || typeof spec.label !== 'string'
    || !spec.model || !Array.isArray(spec.model.hidden) || !spec.training) {
    throw new MedfedError('TASK_INVALID', `task for job ${task.jobId} carries an incomplete job spec`);
  }
  if (standardization) {
    const ok = Array.isArray(standardization.mean) && Array.isArray(standardization.std)
      && standardization.mean.length === spec.features.length && standardization.std.length === spec.features.length
      && [...standardization.mean, ...standardization.std].every((v) => typeof v === 'number' && Number.isFinite(v))
      && standardization.std.every((v) => v > 0);
    if (!ok) throw new MedfedError('TASK_INVALID', `task for job ${task.jobId} carries an invalid standardisation`);
  }
  return { spec, standardization };
}

export function architectureOf(spec: JobSpec) {
  return { inputs: spec.features.length, hidden: spec.model.hidden, classes: spec.classes.length, activation: spec.model.activation };
}
