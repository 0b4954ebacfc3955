import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { AttestationError } from './errors.js';

/**
 * One entry of a trainer bundle: a regular file with its SHA-256, or a symbolic link with its target.
 * `path` is relative to the bundle root, '/'-separated, without '.' or '..' segments.
 */
export type TrainerBundleEntry =
  | { readonly path: string; readonly sha256: string }
  | { readonly path: string; readonly symlink: string };

export const TRAINER_BUNDLE_HEADER = 'medfed-trainer-bundle v1';

const SHA256_HEX = /^[0-9a-f]{64}$/;

function assertPath(path: string): void {
  const bad = path.length === 0 || path.startsWith('/') || /[\n\r\0]/.test(path)
    || path.split('/').some((s) => s === '' || s === '.' || s === '..');
  if (bad) throw new AttestationError('ATTESTATION_MEASUREMENT_INVALID', `trainer bundle path ${JSON.stringify(path)} must be relative, '/'-separated, without empty, '.' or '..' segments or line breaks`);
}

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/**
 * The text a trainer build digest is computed over: a header line, then one line per entry in
 * byte order of its path: `F <sha256> <path>` for a file, `L <target> <path>` for a symlink.
 * Publishing this text next to the digest lets an operator see exactly which files an allowlisted
 * build contains.
 */
export function trainerBundleListing(entries: readonly TrainerBundleEntry[]): string {
  const sorted = [...entries].sort((a, b) => byteOrder(a.path, b.path));
  const lines = [TRAINER_BUNDLE_HEADER];
  sorted.forEach((entry, i) => {
    assertPath(entry.path);
    if (i > 0 && sorted[i - 1]!.path === entry.path) {
      throw new AttestationError('ATTESTATION_MEASUREMENT_INVALID', `trainer bundle path ${entry.path} appears twice`);
    }
    if ('sha256' in entry) {
      if (!SHA256_HEX.test(entry.sha256)) throw new AttestationError('ATTESTATION_MEASUREMENT_INVALID', `trainer bundle file ${entry.path} has no SHA-256 hex digest`);
      lines.push(`F ${entry.sha256} ${entry.path}`);
    } else {
      if (/[\n\r\0 ]/.test(entry.symlink) || entry.symlink.length === 0) {
        throw new AttestationError('ATTESTATION_MEASUREMENT_INVALID', `trainer bundle symlink ${entry.path} has an empty target or one with spaces or line breaks`);
      }
      lines.push(`L ${entry.symlink} ${entry.path}`);
    }
  });
  return `${lines.join('\n')}\n`;
}

/** The trainer build digest: SHA-256 (hex) of `trainerBundleListing(entries)`. */
export function trainerBuildDigest(entries: readonly TrainerBundleEntry[]): string {
  return createHash('sha256').update(trainerBundleListing(entries), 'utf8').digest('hex');
}

/**
 * The sandbox policy digest: SHA-256 (hex) of the RFC 8785 canonical JSON of the policy that was
 * applied (binds, namespaces, limits, seccomp program digest, runtime flags). Equal policies give
 * equal digests whatever the key order.
 */
export function sandboxPolicyDigest(policy: unknown): string {
  const json = canonicalize(policy);
  if (json === undefined) throw new AttestationError('ATTESTATION_MEASUREMENT_INVALID', 'the sandbox policy has no JSON form (undefined or a function)');
  return createHash('sha256').update(json, 'utf8').digest('hex');
}
