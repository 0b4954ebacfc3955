import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { GateError } from '../errors.js';
import type { GatePolicy } from './gate-policy.js';
import { parsePolicy } from './parse-policy.js';

/** The policy that ships with medfed; the same relative place from src/ and from dist/. */
export const DEFAULT_POLICY_PATH = fileURLToPath(new URL('../../policies/default.yaml', import.meta.url));

/** The policy an agent applies to a model before loading it when its config names none (policies/model.yaml). */
export const MODEL_POLICY_PATH = fileURLToPath(new URL('../../policies/model.yaml', import.meta.url));

/** Loads and validates a policy file; without a path, the default policy. */
export async function loadPolicy(path?: string): Promise<GatePolicy> {
  const source = path ?? DEFAULT_POLICY_PATH;
  let bytes: Buffer;
  try {
    bytes = await readFile(source);
  } catch (error) {
    throw new GateError('GATE_POLICY_UNREADABLE', `policy ${source}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}; give a readable YAML file with --policy`, undefined, { cause: error });
  }
  return parsePolicy(bytes, source);
}
