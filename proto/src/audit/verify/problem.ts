import type { AuditErrorCode } from '../errors.js';

/** One verification failure: which event (seq), where (line of events.ndjson, 1-based), what is wrong. */
export interface VerifyProblem {
  readonly code: AuditErrorCode;
  /** The sequence number of the first bad event (for a gap: the first missing one); null when no event is concerned. */
  readonly seq: number | null;
  readonly line: number | null;
  readonly message: string;
}

export function describeProblem(p: VerifyProblem): string {
  const where = p.seq !== null ? `seq ${p.seq}${p.line !== null ? ` (line ${p.line})` : ''}: ` : '';
  return `${p.code}: ${where}${p.message}`;
}
