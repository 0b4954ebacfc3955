import { ReleaseError } from './errors.js';

/**
 * A release's life: requested -> approved (quorum reached) -> decrypted (first site uploaded the
 * plaintext and its signed statement) -> released (second site countersigned the same digest; the
 * coordinator signed and logged the manifest). Refused (a mismatch, a bad statement), failed (a
 * step every eligible site missed) and cancelled (by its requester or an admin) end it early. A plaintext job's release goes from approved to released directly: its model is
 * already plaintext at the coordinator, so there is nothing to decrypt.
 */
export const RELEASE_STATES = ['requested', 'approved', 'decrypted', 'released', 'refused', 'failed', 'cancelled'] as const;
export type ReleaseState = (typeof RELEASE_STATES)[number];

const NEXT: Readonly<Record<ReleaseState, readonly ReleaseState[]>> = {
  requested: ['approved', 'refused', 'failed', 'cancelled'],
  approved: ['decrypted', 'released', 'refused', 'failed', 'cancelled'],
  decrypted: ['released', 'refused', 'failed', 'cancelled'],
  released: [],
  refused: [],
  failed: [],
  cancelled: [],
};

export function canTransition(from: ReleaseState, to: ReleaseState): boolean {
  return NEXT[from].includes(to);
}

export function isTerminal(state: ReleaseState): boolean {
  return NEXT[state].length === 0;
}

/** The states a release leaves only by ending (not released): their round can be requested again. */
export const ENDED_STATES = ['refused', 'failed', 'cancelled'] as const satisfies readonly ReleaseState[];

/** Refuses a transition the workflow does not have (a stale or replayed step). */
export function assertTransition(id: string, from: ReleaseState, to: ReleaseState): void {
  if (!canTransition(from, to)) {
    throw new ReleaseError('RELEASE_STEP_UNEXPECTED', `release ${id} is ${from}; it cannot become ${to}`);
  }
}
