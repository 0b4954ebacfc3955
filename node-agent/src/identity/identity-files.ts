import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AuthError, jwkThumbprint, publicJwkOf, type PublicJwk } from '@medfed/proto/auth/index';

/** The agent's key pair. The private key never leaves this host: it is generated here and kept in a 0600 file. */
export interface AgentKey {
  readonly privateKey: KeyObject;
  readonly publicJwk: PublicJwk;
  /** RFC 7638 thumbprint: the node's identity at the coordinator. */
  readonly jkt: string;
}

/** What enrollment established: who this agent is, for which coordinator. */
export interface AgentIdentity {
  readonly siteId: string;
  /** The coordinator's issuer identifier (the audience of client assertions). */
  readonly issuer: string;
  readonly keyThumbprint: string;
  readonly coordinator: string;
  readonly enrolledAt: string;
}

export const IDENTITY_DIR = 'identity';
const KEY_FILE = 'agent-key.pem';
const IDENTITY_FILE = 'identity.json';

export function identityPaths(stateDir: string): { dir: string; key: string; identity: string } {
  const dir = join(stateDir, IDENTITY_DIR);
  return { dir, key: join(dir, KEY_FILE), identity: join(dir, IDENTITY_FILE) };
}

export function generateAgentKey(): AgentKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  const publicJwk = publicJwkOf(privateKey);
  return { privateKey, publicJwk, jkt: jwkThumbprint(publicJwk) };
}

async function writePrivate(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

/** Writes key and identity together (key first: an identity never names a key that is not on disk). */
export async function saveAgentIdentity(stateDir: string, key: AgentKey, identity: AgentIdentity): Promise<void> {
  const paths = identityPaths(stateDir);
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  await writePrivate(paths.key, key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  await writePrivate(paths.identity, `${JSON.stringify(identity, null, 2)}\n`);
}

async function readPrivate(path: string, what: string): Promise<string> {
  let s;
  try {
    s = await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new AuthError('AUTH_IDENTITY_MISSING', `no ${what} at ${path}: enroll this agent first (medfed agent enroll --code <code from an administrator>)`);
    }
    throw err;
  }
  if ((s.mode & 0o077) !== 0) {
    throw new AuthError('AUTH_IDENTITY_INVALID', `${path} is readable by group or others (mode ${(s.mode & 0o777).toString(8)}); run chmod 600 on it`);
  }
  return readFile(path, 'utf8');
}

/** Loads the enrolled identity and key; refuses files others can read, or a key that is not the enrolled one. */
export async function loadAgentIdentity(stateDir: string): Promise<{ identity: AgentIdentity; key: AgentKey }> {
  const paths = identityPaths(stateDir);
  const keyPem = await readPrivate(paths.key, 'agent key');
  const identityText = await readPrivate(paths.identity, 'agent identity');
  let privateKey: KeyObject;
  let identity: AgentIdentity;
  try {
    privateKey = createPrivateKey(keyPem);
    identity = JSON.parse(identityText) as AgentIdentity;
  } catch (err) {
    throw new AuthError('AUTH_IDENTITY_INVALID', `the agent identity in ${paths.dir} is corrupt: ${(err as Error).message}; enroll again`);
  }
  const publicJwk = publicJwkOf(privateKey);
  const jkt = jwkThumbprint(publicJwk);
  if (typeof identity.siteId !== 'string' || typeof identity.issuer !== 'string' || identity.keyThumbprint !== jkt) {
    throw new AuthError('AUTH_IDENTITY_INVALID', `the agent identity in ${paths.dir} does not match its key; enroll again`);
  }
  return { identity, key: { privateKey, publicJwk, jkt } };
}

/** Removes a leftover key file of a failed enrollment. */
export async function removeFile(path: string): Promise<void> {
  await rm(path, { force: true });
}
