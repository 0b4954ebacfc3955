import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateNoteKey, NOTE_KEY_TYPE, noteSigner, type NoteSigner } from '@medfed/proto/tlog/index';
import { TrustError } from './errors.js';

/** Writes a private state file atomically (0600): a crash leaves the old file or the new one. */
export async function writeState(path: string, content: string): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, content, { mode: 0o600 });
  await rename(tmp, path);
}

/** A state file's text, or null when it does not exist yet. */
export async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new TrustError('TRUST_STATE_INVALID', `${path} cannot be read: ${(err as Error).message}`, undefined, { cause: err });
  }
}

/** Where the agent keeps what it verified: the last checkpoint and the manifest digest of each model. */
export interface VerifierState {
  readonly dir: string;
  /** The last checkpoint note this agent accepted (null before its first model). */
  checkpoint: string | null;
  /** model id -> SHA-256 of its manifest JWS. */
  manifests: Record<string, string>;
}

export async function loadVerifierState(stateDir: string): Promise<VerifierState> {
  const dir = join(stateDir, 'verification');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const checkpoint = await readOptional(join(dir, 'checkpoint.txt'));
  const manifestsText = await readOptional(join(dir, 'manifests.json'));
  let manifests: Record<string, string> = {};
  if (manifestsText) {
    try {
      manifests = JSON.parse(manifestsText) as Record<string, string>;
    } catch (err) {
      throw new TrustError('TRUST_STATE_INVALID', `${join(dir, 'manifests.json')} is not JSON`, undefined, { cause: err });
    }
  }
  return { dir, checkpoint, manifests };
}

export async function saveCheckpoint(state: VerifierState, note: string): Promise<void> {
  await writeState(join(state.dir, 'checkpoint.txt'), note);
  state.checkpoint = note;
}

/**
 * A signed checkpoint this agent refused because it does not extend the saved view (a smaller tree:
 * TLOG_ROLLBACK; another history: TLOG_CONSISTENCY_INVALID). Kept as evidence and as what a site
 * steward may, after checking it with the coordinator's operators, re-anchor on
 * (`medfed agent reanchor-log`, reanchor.ts); the agent itself never does.
 */
export const REFUSED_CHECKPOINT_FILE = 'refused-checkpoint.txt';

export async function saveRefusedCheckpoint(state: VerifierState, note: string): Promise<void> {
  await writeState(join(state.dir, REFUSED_CHECKPOINT_FILE), note);
}

export async function saveManifestDigest(state: VerifierState, modelId: string, digest: string): Promise<void> {
  state.manifests[modelId] = digest;
  await writeState(join(state.dir, 'manifests.json'), `${JSON.stringify(state.manifests)}\n`);
}

/**
 * The agent's witness key (signed-note type 0x04, cosignature/v1), created in its state dir with
 * mode 0600 at first use. Its verifier key goes to the coordinator at Enroll.
 */
export async function loadOrCreateWitnessKey(stateDir: string, siteId: string): Promise<NoteSigner> {
  const path = join(stateDir, 'witness.key');
  let skey = (await readOptional(path))?.trim();
  if (!skey) {
    skey = generateNoteKey(`${siteId}.witness.medfed`, NOTE_KEY_TYPE.COSIGNATURE_V1).signerKey;
    await writeFile(path, `${skey}\n`, { mode: 0o600, flag: 'wx' }).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
      skey = (await readFile(path, 'utf8')).trim(); // another process made it first
    });
  }
  try {
    return noteSigner(skey!);
  } catch (err) {
    throw new TrustError('TRUST_STATE_INVALID', `${path} is not a signed-note private key: ${(err as Error).message}`, undefined, { cause: err });
  }
}
