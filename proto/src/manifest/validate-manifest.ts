import { ManifestError } from './errors.js';
import { ARTIFACT_KINDS, MANIFEST_VERSION, type Manifest } from './manifest.js';

/** A check returns the problem with a value, or undefined when it is acceptable. */
type Check = (value: unknown) => string | undefined;

const SHA256_HEX = /^[0-9a-f]{64}$/;
const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const SITE_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const BLOB_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

const text = (pattern: RegExp, what: string): Check => (v) =>
  typeof v === 'string' && pattern.test(v) ? undefined : `must be ${what}`;
const integer = (min: number, max: number): Check => (v) =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max ? undefined : `must be an integer from ${min} to ${max}`;
const literal = (expected: unknown): Check => (v) => (v === expected ? undefined : `must be ${JSON.stringify(expected)}`);
const oneOf = (values: readonly string[]): Check => (v) =>
  typeof v === 'string' && values.includes(v) ? undefined : `must be one of ${values.join(', ')}`;
const nullable = (check: Check): Check => (v) => (v === null ? undefined : check(v));
const time: Check = (v) =>
  typeof v === 'string' && RFC3339_UTC.test(v) && !Number.isNaN(Date.parse(v)) ? undefined : 'must be an RFC 3339 UTC time such as 2025-01-31T12:00:00Z';

/** A closed object: every listed field present and valid, no other field. */
function object(fields: Record<string, Check>): (v: unknown, path: string) => string[] {
  return (v, path) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return [`${path} must be an object`];
    const problems: string[] = [];
    for (const [name, check] of Object.entries(fields)) {
      if (!Object.hasOwn(v, name)) problems.push(`${path}.${name} is missing`);
      else {
        const p = check((v as Record<string, unknown>)[name]);
        if (p) problems.push(`${path}.${name} ${p}`);
      }
    }
    for (const name of Object.keys(v)) if (!Object.hasOwn(fields, name)) problems.push(`${path}.${name} is not a manifest field`);
    return problems;
  };
}

function list(item: (v: unknown, path: string) => string[], min: number, max: number, uniqueKey: string) {
  return (v: unknown, path: string): string[] => {
    if (!Array.isArray(v)) return [`${path} must be an array`];
    if (v.length < min || v.length > max) return [`${path} must hold ${min} to ${max} entries, not ${v.length}`];
    const problems = v.flatMap((entry, i) => item(entry, `${path}[${i}]`));
    const keys = v.map((entry) => (entry as Record<string, unknown>)?.[uniqueKey]);
    const dup = keys.find((k, i) => keys.indexOf(k) !== i);
    if (dup !== undefined) problems.push(`${path} lists ${uniqueKey} ${JSON.stringify(dup)} twice`);
    return problems;
  };
}

const blob = object({ name: text(BLOB_NAME, 'a file-like name (letters, digits, . _ -)'), sha256: text(SHA256_HEX, '64 lowercase hex digits'), size: integer(0, Number.MAX_SAFE_INTEGER) });
const contributor = object({ site: text(SITE_ID, 'a site id (lowercase letters, digits, -)'), sha256: text(SHA256_HEX, '64 lowercase hex digits') });

const SCALARS: Record<string, Check> = {
  version: literal(MANIFEST_VERSION),
  kind: oneOf(ARTIFACT_KINDS),
  job: text(JOB_ID, 'a job id (letters, digits, . _ : -; at most 128)'),
  round: integer(0, 1_000_000),
  previousManifest: nullable(text(SHA256_HEX, '64 lowercase hex digits or null')),
  paramsDigest: nullable(text(SHA256_HEX, '64 lowercase hex digits or null')),
  policyVersion: text(/^[\x21-\x7e]{1,64}$/, 'a non-empty printable ASCII version of at most 64 characters'),
  issuedAt: time,
};
const LISTS: Record<string, (v: unknown, path: string) => string[]> = {
  blobs: list(blob, 1, 64, 'name'),
  contributors: list(contributor, 0, 10_000, 'site'),
};

/** Every problem with a manifest payload; empty when it is valid. */
export function manifestProblems(value: unknown): string[] {
  const shallow = object({ ...SCALARS, ...Object.fromEntries(Object.keys(LISTS).map((k) => [k, () => undefined])) })(value, 'manifest');
  if (shallow.some((p) => p === 'manifest must be an object')) return shallow;
  const nested = Object.entries(LISTS).flatMap(([name, check]) =>
    Object.hasOwn(value as object, name) ? check((value as Record<string, unknown>)[name], `manifest.${name}`) : []);
  return [...shallow, ...nested];
}

/** Narrows a parsed payload to a Manifest, or throws MANIFEST_SCHEMA_INVALID naming every problem. */
export function validateManifest(value: unknown): Manifest {
  const problems = manifestProblems(value);
  if (problems.length > 0) {
    throw new ManifestError('MANIFEST_SCHEMA_INVALID', `the manifest is invalid: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? `; and ${problems.length - 10} more` : ''}`, { problems });
  }
  return value as Manifest;
}
