import { utf8 } from './encoding.js';

/** c2sp.org/tlog-cosignature, Ed25519 signed message: header line, timestamp line, then the checkpoint body. */
export function cosignatureMessage(noteText: string, timestamp: number): Uint8Array {
  return utf8(`cosignature/v1\ntime ${timestamp}\n${noteText}`);
}

/** Timestamps are u64 on the wire; medfed keeps them inside 2^53 so they stay exact in JavaScript. */
export function isCosignatureTimestamp(t: number): boolean {
  return Number.isSafeInteger(t) && t >= 0;
}
