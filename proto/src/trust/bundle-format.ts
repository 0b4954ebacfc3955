import { TrustBundleError } from './errors.js';

/** The bundle manifest's file name; it lists every other file of the bundle. */
export const TRUST_MANIFEST_FILE = 'trust.json';

export const TRUST_BUNDLE_FORMAT = 'medfed-trust-bundle/v1';

/** Every file a bundle may hold, by role: its fixed name and whether a bundle must have it. */
export const TRUST_BUNDLE_FILES = {
  /** PEM: the CA certificate(s) that sign the coordinator's TLS certificate (absent only for a plain-HTTP development coordinator). */
  ca: { name: 'ca.pem', required: false },
  /** The coordinator's manifest signing keys (Ed25519 JWKS, retired keys included): models and audit exports verify against them. */
  'manifest-jwks': { name: 'manifest-jwks.json', required: true },
  /** The coordinator's access token signing keys (JWKS). */
  'token-jwks': { name: 'token-jwks.json', required: true },
  /** The transparency log's checkpoint verifier key (`<origin>+<hex key id>+<base64 key>`). */
  'log-key': { name: 'checkpoint.vkey', required: true },
} as const;

export type TrustFileRole = keyof typeof TRUST_BUNDLE_FILES;

export const TRUST_FILE_ROLES = Object.keys(TRUST_BUNDLE_FILES) as TrustFileRole[];

/** Largest file a bundle may hold (each one). */
export const MAX_TRUST_FILE_BYTES = 256 * 1024;

export interface TrustFileEntry {
  readonly role: TrustFileRole;
  readonly name: string;
  /** Lowercase hex SHA-256 of the file's bytes. */
  readonly sha256: string;
}

/** Who the bundle is for: how sites reach the coordinator, and the log it runs. */
export interface CoordinatorIdentity {
  /** The coordinator's REST base URL, e.g. https://coordinator.example:8443. */
  readonly rest: string;
  /** The gRPC address agents connect to (host:port). */
  readonly grpc: string;
  /** The consortium's name, when it has one. */
  readonly consortium: string | null;
  /** The transparency log's origin: the name in its checkpoint verifier key. */
  readonly logOrigin: string;
}

/** trust.json: what the fingerprint is computed over (docs/trust.md). */
export interface TrustBundleManifest {
  readonly format: typeof TRUST_BUNDLE_FORMAT;
  /** Increases with every rotation of the CA or a key: a site pins the newest version it has imported. */
  readonly version: number;
  /** When the bundle was exported (ISO 8601, UTC). */
  readonly createdAt: string;
  readonly coordinator: CoordinatorIdentity;
  readonly files: readonly TrustFileEntry[];
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const GRPC_ADDRESS = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/;

function invalid(why: string): never {
  throw new TrustBundleError('TRUST_BUNDLE_INVALID', `${TRUST_MANIFEST_FILE}: ${why}`);
}

function exactKeys(value: unknown, keys: readonly string[], where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return invalid(`${where} is not a JSON object`);
  const extra = Object.keys(value).filter((k) => !keys.includes(k));
  if (extra.length > 0) invalid(`${where} has unknown member(s) ${extra.join(', ')}`);
  const missing = keys.filter((k) => !(k in value));
  if (missing.length > 0) invalid(`${where} lacks ${missing.join(', ')}`);
  return value as Record<string, unknown>;
}

function text(value: unknown, where: string, max = 300): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) return invalid(`${where} must be a string of 1 to ${max} characters`);
  return value;
}

/** The coordinator identity, checked (also used by the exporter before it writes anything). */
export function parseCoordinatorIdentity(value: unknown): CoordinatorIdentity {
  const c = exactKeys(value, ['rest', 'grpc', 'consortium', 'logOrigin'], 'coordinator');
  const rest = text(c.rest, 'coordinator.rest');
  let url: URL | null = null;
  try {
    url = new URL(rest);
  } catch { /* refused below */ }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || rest.endsWith('/')) invalid(`coordinator.rest ${JSON.stringify(rest)} is not an http(s) base URL without a trailing slash`);
  const grpc = text(c.grpc, 'coordinator.grpc');
  if (!GRPC_ADDRESS.test(grpc)) invalid(`coordinator.grpc ${JSON.stringify(grpc)} is not host:port`);
  const consortium = c.consortium === null ? null : text(c.consortium, 'coordinator.consortium', 200);
  return { rest, grpc, consortium, logOrigin: text(c.logOrigin, 'coordinator.logOrigin') };
}

/** Validates a parsed trust.json: its shape, the files it may list, each once, and the required ones. */
export function parseTrustManifest(value: unknown): TrustBundleManifest {
  const m = exactKeys(value, ['format', 'version', 'createdAt', 'coordinator', 'files'], 'the manifest');
  if (m.format !== TRUST_BUNDLE_FORMAT) invalid(`format is ${JSON.stringify(m.format)}, not ${TRUST_BUNDLE_FORMAT}`);
  if (typeof m.version !== 'number' || !Number.isSafeInteger(m.version) || m.version < 1) invalid(`version must be a positive integer, not ${JSON.stringify(m.version)}`);
  if (typeof m.createdAt !== 'string' || !ISO_INSTANT.test(m.createdAt) || Number.isNaN(Date.parse(m.createdAt))) invalid('createdAt must be an ISO 8601 UTC instant');
  const coordinator = parseCoordinatorIdentity(m.coordinator);
  if (!Array.isArray(m.files)) return invalid('files is not an array');
  const seen = new Set<string>();
  const files = m.files.map((f, i): TrustFileEntry => {
    const e = exactKeys(f, ['role', 'name', 'sha256'], `files[${i}]`);
    const role = e.role as TrustFileRole;
    if (typeof role !== 'string' || !(role in TRUST_BUNDLE_FILES)) invalid(`files[${i}].role ${JSON.stringify(e.role)} is not one of ${TRUST_FILE_ROLES.join(', ')}`);
    if (e.name !== TRUST_BUNDLE_FILES[role].name) invalid(`files[${i}]: the ${role} file is named ${TRUST_BUNDLE_FILES[role].name}, not ${JSON.stringify(e.name)}`);
    if (typeof e.sha256 !== 'string' || !SHA256_HEX.test(e.sha256)) invalid(`files[${i}].sha256 must be 64 lowercase hex digits`);
    if (seen.has(role)) invalid(`the ${role} file is listed twice`);
    seen.add(role);
    return { role, name: e.name as string, sha256: e.sha256 as string };
  });
  const missing = TRUST_FILE_ROLES.filter((r) => TRUST_BUNDLE_FILES[r].required && !seen.has(r));
  if (missing.length > 0) invalid(`it lists no ${missing.map((r) => TRUST_BUNDLE_FILES[r].name).join(', ')}`);
  return { format: TRUST_BUNDLE_FORMAT, version: m.version as number, createdAt: m.createdAt as string, coordinator, files };
}
