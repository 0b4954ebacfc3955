import { parsePublicJwk } from '../auth/jwk.js';
import { parseJwks } from '../manifest/jwks.js';
import { NOTE_KEY_TYPE, noteVerifier } from '../tlog/note-keys.js';
import { TRUST_BUNDLE_FILES, type CoordinatorIdentity, type TrustFileRole } from './bundle-format.js';
import { pemCertificates } from './expiry.js';
import { TrustBundleError } from './errors.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

function invalid(role: TrustFileRole, why: string, cause?: unknown): never {
  throw new TrustBundleError('TRUST_BUNDLE_INVALID', `${TRUST_BUNDLE_FILES[role].name}: ${why}`, undefined, cause === undefined ? undefined : { cause });
}

function utf8(role: TrustFileRole, bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch (err) {
    return invalid(role, 'is not UTF-8 text', err);
  }
}

function json(role: TrustFileRole, bytes: Uint8Array): unknown {
  try {
    return JSON.parse(utf8(role, bytes));
  } catch (err) {
    return invalid(role, `is not JSON: ${(err as Error).message}`, err);
  }
}

/** CA certificates (PEM): at least one, each an X.509 certificate marked as a CA. */
function checkCa(bytes: Uint8Array): void {
  let certs;
  try {
    certs = pemCertificates(utf8('ca', bytes));
  } catch (err) {
    return invalid('ca', `a certificate does not parse as X.509: ${(err as Error).message}`, err);
  }
  if (certs.length === 0) invalid('ca', 'holds no PEM certificate');
  certs.forEach((c, i) => {
    if (!c.ca) invalid('ca', `certificate ${i + 1} (${c.subject.replaceAll('\n', ', ')}) is not a CA certificate (basicConstraints CA:FALSE)`);
  });
}

/** Token signing keys: public Ed25519 or P-256 JWKs with distinct kids. */
function checkTokenJwks(bytes: Uint8Array): void {
  const value = json('token-jwks', bytes) as { keys?: unknown };
  if (!Array.isArray(value?.keys) || value.keys.length === 0 || value.keys.length > 100) invalid('token-jwks', 'expected {"keys": [...]} with 1 to 100 keys');
  const kids = new Set<string>();
  (value.keys as unknown[]).forEach((k, i) => {
    const kid = (k as { kid?: unknown } | null)?.kid;
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > 128) invalid('token-jwks', `keys[${i}] has no kid`);
    if (kids.has(kid)) invalid('token-jwks', `kid ${kid} appears twice`);
    kids.add(kid);
    try {
      parsePublicJwk(k, `key ${kid}`, 'AUTH_SIGNING_KEY_INVALID');
    } catch (err) {
      invalid('token-jwks', (err as Error).message, err);
    }
  });
}

function checkManifestJwks(bytes: Uint8Array): void {
  try {
    parseJwks(json('manifest-jwks', bytes));
  } catch (err) {
    if (err instanceof TrustBundleError) throw err;
    invalid('manifest-jwks', (err as Error).message, err);
  }
}

/** The log key: one signed-note Ed25519 verifier key whose name is the log origin the manifest names. */
function checkLogKey(bytes: Uint8Array, coordinator: CoordinatorIdentity): void {
  const text = utf8('log-key', bytes).trim();
  if (text.includes('\n')) invalid('log-key', 'holds more than one line: it is one verifier key');
  let type: number;
  let name: string;
  try {
    ({ type, name } = noteVerifier(text));
  } catch (err) {
    return invalid('log-key', `is not a signed-note verifier key (<origin>+<hex id>+<base64>): ${(err as Error).message}`, err);
  }
  if (type !== NOTE_KEY_TYPE.ED25519) invalid('log-key', `is a key of type ${type}, not a log's checkpoint key (Ed25519, type 1)`);
  if (name !== coordinator.logOrigin) invalid('log-key', `is the key of log ${name}, but trust.json names log ${coordinator.logOrigin}`);
}

/** Checks that a file is what its role says; refuses with TRUST_BUNDLE_INVALID naming the file. */
export function validateTrustFile(role: TrustFileRole, bytes: Uint8Array, coordinator: CoordinatorIdentity): void {
  switch (role) {
    case 'ca': return checkCa(bytes);
    case 'manifest-jwks': return checkManifestJwks(bytes);
    case 'token-jwks': return checkTokenJwks(bytes);
    case 'log-key': return checkLogKey(bytes, coordinator);
  }
}
