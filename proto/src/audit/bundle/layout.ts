/**
 * The compliance export bundle (a .tar.gz): which files it holds, in which order, and how the
 * verifier reads each. The order is fixed so that the small files the chain check needs (manifest,
 * truncation anchor, anchors) arrive before the events stream.
 */
export const AUDIT_BUNDLE_FORMAT = 'medfed.audit.bundle/v1';

type Reading = 'buffer' | 'events' | 'digest-only';

interface BundleFileSpec {
  readonly name: string;
  readonly required: boolean;
  /** buffer: read into memory (bounded by maxBytes); events: streamed through the chain verifier; digest-only: hashed. */
  readonly reading: Reading;
  readonly maxBytes: number;
  /** Listed with its digest in manifest.json (the manifest and its signature cannot list themselves). */
  readonly inManifest: boolean;
}

const MiB = 1024 * 1024;

export const AUDIT_BUNDLE_FILES = [
  { name: 'manifest.json', required: true, reading: 'buffer', maxBytes: 4 * MiB, inManifest: false },
  { name: 'manifest.jws', required: true, reading: 'buffer', maxBytes: 8 * MiB, inManifest: false },
  { name: 'jwks.json', required: true, reading: 'buffer', maxBytes: 1 * MiB, inManifest: true },
  { name: 'truncation.jws', required: false, reading: 'buffer', maxBytes: 1 * MiB, inManifest: true },
  { name: 'anchors.ndjson', required: true, reading: 'buffer', maxBytes: 64 * MiB, inManifest: true },
  { name: 'checkpoints.json', required: false, reading: 'buffer', maxBytes: 64 * MiB, inManifest: true },
  { name: 'proofs.json', required: false, reading: 'buffer', maxBytes: 256 * MiB, inManifest: true },
  { name: 'tlog-tail.json', required: false, reading: 'buffer', maxBytes: 256 * MiB, inManifest: true },
  { name: 'events.ndjson', required: true, reading: 'events', maxBytes: Number.MAX_SAFE_INTEGER, inManifest: true },
  { name: 'events.csv', required: true, reading: 'digest-only', maxBytes: Number.MAX_SAFE_INTEGER, inManifest: true },
  { name: 'report.html', required: true, reading: 'digest-only', maxBytes: Number.MAX_SAFE_INTEGER, inManifest: true },
  { name: 'report.pdf', required: true, reading: 'digest-only', maxBytes: Number.MAX_SAFE_INTEGER, inManifest: true },
] as const satisfies readonly BundleFileSpec[];

export type AuditBundleFileName = (typeof AUDIT_BUNDLE_FILES)[number]['name'];

export function bundleFileSpec(name: string): (typeof AUDIT_BUNDLE_FILES)[number] | undefined {
  return AUDIT_BUNDLE_FILES.find((f) => f.name === name);
}

export function bundleFileOrder(name: string): number {
  return AUDIT_BUNDLE_FILES.findIndex((f) => f.name === name);
}
