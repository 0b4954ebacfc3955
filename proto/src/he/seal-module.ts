import initializeSeal from 'node-seal';
import type { MainModule } from 'node-seal';

export type SealModule = MainModule;

let sealModule: Promise<SealModule> | undefined;

/**
 * The node-seal WebAssembly module (Microsoft SEAL 4.1, the build that throws on transparent
 * ciphertexts), instantiated once per process: instantiation costs tens of milliseconds and every
 * SEAL object must come from the same instance.
 */
export function loadHe(): Promise<SealModule> {
  sealModule ??= initializeSeal().catch((err: unknown) => {
    sealModule = undefined;
    throw err;
  });
  return sealModule;
}
