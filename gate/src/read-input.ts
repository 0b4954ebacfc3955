import { readFile, stat } from 'node:fs/promises';
import { GateError } from './errors.js';

/** Reports, SBOMs, signatures and keys are documents, not artifacts; anything larger is refused. */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;

/** A gate input: a file path, or the bytes themselves (in-process callers). */
export type InputSource = string | Uint8Array;

export async function readInput(source: InputSource, what: string): Promise<Buffer> {
  if (typeof source !== 'string') return Buffer.from(source);
  try {
    const info = await stat(source);
    if (!info.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTFILE' });
    if (info.size > MAX_INPUT_BYTES) throw Object.assign(new Error('too large'), { code: 'EFBIG' });
    return await readFile(source);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new GateError('GATE_INPUT_UNREADABLE', `${what} ${source}: ${code}; give a readable file of at most ${MAX_INPUT_BYTES} bytes`, undefined, { cause: error });
  }
}

/** Parses JSON, naming the input on failure with the error code the caller chooses. */
export function parseJsonInput(bytes: Buffer, what: string, code: 'GATE_VULN_REPORT_INVALID' | 'GATE_SBOM_INVALID'): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new GateError(code, `${what}: not JSON (${(error as Error).message})`);
  }
}
