import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { TrainingError } from './errors.js';

export interface TrainingBackend {
  /** The TensorFlow.js backend name now in use: `tensorflow`, `wasm` or `cpu`. */
  readonly backend: string;
  /** One line for the agent's log: what runs and why the faster options were skipped. */
  readonly note: string;
}

/**
 * Native bindings a hospital's host may have installed. They are optional dependencies, absent in
 * most installs, so they are imported by name at run time and every failure just moves on.
 */
const NATIVE_PACKAGES = [
  { specifier: '@tensorflow/tfjs-node-gpu', label: 'native TensorFlow with CUDA (tfjs-node-gpu)' },
  { specifier: '@tensorflow/tfjs-node', label: 'native TensorFlow on CPU (tfjs-node)' },
] as const;

/**
 * Pure-JavaScript fallbacks, fastest first. On the reference 2-core host the WASM backend trains
 * the job's small dense networks faster than the plain `cpu` backend (see
 * docs/data-and-training.md, "Backend"), so it is tried first.
 */
export const FALLBACK_BACKENDS = ['wasm', 'cpu'] as const;

let selected: Promise<TrainingBackend> | undefined;

/**
 * Selects the fastest available backend once per process; later calls return the same answer.
 * Training and evaluation call it themselves, so callers only need it to log the result early.
 */
export function initTrainingBackend(): Promise<TrainingBackend> {
  // Production mode: no debug checks, and no console banner from the cpu backend (the agent logs
  // the returned note through its own structured logger instead).
  tf.enableProdMode();
  selected ??= selectBackend().catch((error: unknown) => {
    selected = undefined;
    throw error;
  });
  return selected;
}

/** Operators may pin a backend (`tensorflow`, `wasm` or `cpu`); then nothing else is tried. */
export const BACKEND_ENV = 'MEDFED_TRAINING_BACKEND';

async function selectBackend(): Promise<TrainingBackend> {
  const pinned = process.env[BACKEND_ENV]?.trim();
  if (pinned !== undefined && pinned !== '') return selectPinned(pinned);
  const skipped: string[] = [];
  for (const native of NATIVE_PACKAGES) {
    const reason = await tryNative(native.specifier);
    if (reason === undefined) return { backend: tf.getBackend(), note: native.label };
    skipped.push(`${native.specifier}: ${reason}`);
  }
  for (const name of FALLBACK_BACKENDS) {
    const reason = await tryFallback(name);
    if (reason === undefined) {
      return { backend: name, note: `${FALLBACK_NOTES[name]} (skipped ${skipped.join('; ')})` };
    }
    skipped.push(`${name}: ${reason}`);
  }
  throw new TrainingError('TRAINING_BACKEND_UNAVAILABLE', `No TensorFlow.js backend could be initialised: ${skipped.join('; ')}.`);
}

async function selectPinned(name: string): Promise<TrainingBackend> {
  const unavailable = (reason: string): never => {
    throw new TrainingError('TRAINING_BACKEND_UNAVAILABLE', `${BACKEND_ENV}=${name}: ${reason}.`);
  };
  if (name === 'tensorflow') {
    for (const native of NATIVE_PACKAGES) {
      if ((await tryNative(native.specifier)) === undefined) return { backend: tf.getBackend(), note: `${native.label}, pinned by ${BACKEND_ENV}` };
    }
    return unavailable('neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node could be loaded');
  }
  if (name !== 'wasm' && name !== 'cpu') return unavailable('expected tensorflow, wasm or cpu');
  const reason = await tryFallback(name);
  if (reason !== undefined) unavailable(reason);
  return { backend: name, note: `${FALLBACK_NOTES[name]}, pinned by ${BACKEND_ENV}` };
}

const FALLBACK_NOTES: Record<(typeof FALLBACK_BACKENDS)[number], string> = {
  wasm: 'TensorFlow.js WebAssembly backend',
  cpu: 'TensorFlow.js plain JavaScript cpu backend',
};

async function tryNative(specifier: string): Promise<string | undefined> {
  try {
    await import(specifier);
  } catch (error) {
    return isModuleNotFound(error) ? 'not installed' : `failed to load (${describe(error)})`;
  }
  return (await setBackendQuietly('tensorflow')) ? undefined : 'its backend did not initialise';
}

async function tryFallback(name: (typeof FALLBACK_BACKENDS)[number]): Promise<string | undefined> {
  if (name === 'wasm') {
    try {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      wasm.setWasmPaths(wasmDistFolder());
    } catch (error) {
      return `failed to load (${describe(error)})`;
    }
    return (await withoutNewProcessHandlers(() => setBackendQuietly(name))) ? undefined : 'did not initialise';
  }
  return (await setBackendQuietly(name)) ? undefined : 'did not initialise';
}

const PROCESS_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

/**
 * The Emscripten runtime inside the WASM backend registers process-wide `uncaughtException` and
 * `unhandledRejection` listeners that rethrow. The agent owns its process's error policy, so any
 * listener added while the backend initialises is removed again.
 */
async function withoutNewProcessHandlers<T>(run: () => Promise<T>): Promise<T> {
  const emitter: NodeJS.EventEmitter = process;
  const before = new Map(PROCESS_EVENTS.map((event) => [event, new Set(emitter.listeners(event))]));
  try {
    return await run();
  } finally {
    for (const event of PROCESS_EVENTS) {
      for (const listener of emitter.listeners(event)) {
        if (!before.get(event)!.has(listener)) emitter.removeListener(event, listener as (...args: unknown[]) => void);
      }
    }
  }
}

/** The .wasm binaries ship in the package's dist folder; Node reads them as files from there. */
function wasmDistFolder(): string {
  const require = createRequire(import.meta.url);
  const packageJson = require.resolve('@tensorflow/tfjs-backend-wasm/package.json');
  return path.join(path.dirname(packageJson), 'dist') + path.sep;
}

async function setBackendQuietly(name: string): Promise<boolean> {
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

function isModuleNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}
