import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The directory holding `node_modules` and the workspace packages: three levels above this module,
 * whether it runs from node-agent/dist/sandbox (the agent) or node-agent/src/sandbox (tests).
 */
export function installRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

/** Trainer-side files, relative to the install root. The compiled ones always (the sandbox runs dist). */
export const TRAINER_FILES = {
  entry: 'node-agent/dist/sandbox/trainer-main.js',
  guard: 'node-agent/dist/sandbox/trainer-guard.js',
  traceHooks: 'node-agent/dist/sandbox/trace-hooks.js',
} as const;

export function compiledTrainerPresent(root: string = installRoot()): boolean {
  return Object.values(TRAINER_FILES).every((f) => existsSync(join(root, f)));
}
