import { GateError } from '../errors.js';
import { isSha256Digest } from './digest-format.js';
import type { EntryCollector } from './entry-collector.js';
import type { OciImageIdentity } from './inventory.js';

const INDEX_MEDIA_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);
const MAX_INDEX_DEPTH = 3;

interface Descriptor {
  readonly mediaType?: unknown;
  readonly digest?: unknown;
}

/**
 * When the artifact is an OCI image layout (`oci-layout` + `index.json`), proves by content which
 * index, manifest and config digests it holds. Scanners name images by these digests, so a Trivy or
 * Grype report of `repo@sha256:…` can be bound to this artifact. Any blob whose bytes do not hash to
 * its name refuses the artifact.
 */
export function ociImageIdentity(collector: EntryCollector): OciImageIdentity | null {
  const layout = collector.ociFiles.get('oci-layout');
  const index = collector.ociFiles.get('index.json');
  if (!layout || !index) return null;
  const layoutJson = parseJson(layout, 'oci-layout') as { imageLayoutVersion?: unknown } | null;
  if (typeof layoutJson?.imageLayoutVersion !== 'string') {
    throw invalid('oci-layout: imageLayoutVersion is missing; this is not an OCI image layout');
  }
  for (const [path, hex] of collector.fileDigests) {
    if (path.startsWith('blobs/sha256/') && path.slice('blobs/sha256/'.length) !== hex) {
      throw invalid(`${path}: its bytes hash to sha256:${hex}, not to its name; the layout is corrupt or was altered`);
    }
  }
  const digests = new Set<string>();
  visitIndex(parseJson(index, 'index.json'), 'index.json', collector, digests, 0);
  return { digests: [...digests].sort() };
}

function visitIndex(index: unknown, where: string, collector: EntryCollector, digests: Set<string>, depth: number): void {
  const manifests = (index as { manifests?: unknown } | null)?.manifests;
  if (!Array.isArray(manifests)) throw invalid(`${where}: manifests must be an array of descriptors`);
  manifests.forEach((descriptor: Descriptor, position) => {
    const field = `${where}: manifests[${position}]`;
    const blob = requireBlob(descriptor?.digest, field, collector);
    digests.add(descriptor.digest as string);
    const document = parseJson(blob, `blob ${String(descriptor.digest)}`) as { mediaType?: unknown; config?: Descriptor; manifests?: unknown } | null;
    const mediaType = descriptor.mediaType ?? document?.mediaType;
    if (typeof mediaType === 'string' && INDEX_MEDIA_TYPES.has(mediaType)) {
      if (depth >= MAX_INDEX_DEPTH) throw invalid(`${field}: image indexes nest deeper than ${MAX_INDEX_DEPTH}`);
      visitIndex(document, `blob ${String(descriptor.digest)}`, collector, digests, depth + 1);
      return;
    }
    const config = document?.config?.digest;
    requireBlob(config, `blob ${String(descriptor.digest)}: config`, collector);
    digests.add(config as string);
  });
}

function requireBlob(digest: unknown, field: string, collector: EntryCollector): Buffer {
  if (!isSha256Digest(digest)) throw invalid(`${field}: digest ${JSON.stringify(digest)} is not sha256:<64 hex>`);
  const path = `blobs/sha256/${digest.slice('sha256:'.length)}`;
  const blob = collector.ociFiles.get(path);
  if (!collector.fileDigests.has(path) || !blob) throw invalid(`${field}: names ${digest} but ${path} is missing or larger than an image manifest can be`);
  return blob;
}

function parseJson(bytes: Buffer, where: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw invalid(`${where}: not JSON (${(error as Error).message})`);
  }
}

function invalid(message: string): GateError {
  return new GateError('GATE_ARTIFACT_INVALID', `OCI image layout ${message}`);
}
