import { ReleaseError } from './errors.js';

/**
 * A release's life: requested -> approved (quorum reached) -> decrypted (first site uploaded the
 * plaintext and its signed statement) -> released (second site countersigned the same digest; the
 * coordinator signed and logged the manifest). Refused (a mismatch, a bad statement) and failed
 * end it early. A plaintext job's release goes from approved to released directly: its model is
 * already plaintext at the coordinator, so there is nothing to decrypt.
 */
export const RELEASE_STATES = ['requested', 'approved', 'decrypted', 'released', 'refused', 'failed'] as const;
export type ReleaseState = (typeof RELEASE_STATES)[number];

const NEXT: Readonly<Record<ReleaseState, readonly ReleaseState[]>> = {
  requested: ['approved', 'refused', 'failed'],
  approved: ['decrypted', 'released', 'refused', 'failed'],
  decrypted: ['released', 'refused', 'failed'],
  released: [],
  refused: [],
  failed: [],
};

export function canTransition(from: ReleaseState, to: ReleaseState): boolean {
  return NEXT[from].includes(to);
}

export function isTerminal(state: ReleaseState): boolean {
  return NEXT[state].length === 0;
}

/** Refuses a transition the workflow does not have (a stale or replayed step). */
export function assertTransition(id: string, from: ReleaseState, to: ReleaseState): void {
  if (!canTransition(from, to)) {
    throw new ReleaseError('RELEASE_STEP_UNEXPECTED', `release ${id} is ${from}; it cannot become ${to}`);
  }
}
