import { createHash } from 'node:crypto';
import { MANIFEST_VERSION, type Manifest, type ManifestContributor } from '@medfed/proto/manifest/index';
import { paramSetDigest, type JobSpec } from '@medfed/proto';
import type { ModelRow } from '../federation/rows.js';
import type { Queryable } from '../storage/db.js';
import { POLICY } from '../auth/policy/policy.js';
import { PUBLISHED_KINDS } from './artifact-kinds.js';

/** The plaintext layout a float32 model is read with: what sites must agree on to load it. */
export function plaintextLayoutDigest(spec: Pick<JobSpec, 'features' | 'model' | 'classes'>): string {
  const layout = { encoding: 'float32-le', inputs: spec.features.length, hidden: spec.model.hidden, classes: spec.classes.length };
  return createHash('sha256').update(JSON.stringify(layout)).digest('hex');
}

/** RFC 3339 UTC without fractions: the manifest schema's canonical form. */
function rfc3339(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

/**
 * The manifest of a model row, read inside the transaction that inserts it: contributors are the
 * round's accepted contributions (site and digest), the parameter digest is the job's HE parameter
 * set for encrypted sums or the plaintext layout for weights, and `previousManifest` chains it to
 * the job's last manifest.
 */
export async function buildManifest(tx: Queryable, model: ModelRow, previousDigest: string | null, now: Date): Promise<Manifest> {
  const published = PUBLISHED_KINDS[model.kind];
  const { rows: jobs } = await tx.query<{ spec: JobSpec }>('SELECT spec FROM jobs WHERE id = $1', [model.job_id]);
  const spec = jobs[0]!.spec;
  let paramsDigest: string;
  if (model.encrypted) {
    const { rows } = await tx.query<{ param_set: string }>('SELECT param_set FROM job_keys WHERE job_id = $1 ORDER BY epoch DESC LIMIT 1', [model.job_id]);
    paramsDigest = paramSetDigest(rows[0]?.param_set ?? spec.encryption!.paramSet);
  } else {
    paramsDigest = plaintextLayoutDigest(spec);
  }
  // The initial model has no contributors; every later artifact is made of its round's contributions.
  let contributors: ManifestContributor[] = [];
  if (!(model.kind === 'weights' && model.round === 0)) {
    const { rows } = await tx.query<{ site_id: string; sha256: string }>(
      'SELECT site_id, sha256 FROM contributions WHERE job_id = $1 AND round = $2 ORDER BY site_id', [model.job_id, model.round]);
    const included = model.contributors ? new Set(model.contributors) : null;
    contributors = rows.filter((r) => included === null || included.has(r.site_id)).map((r) => ({ site: r.site_id, sha256: r.sha256 }));
  }
  return {
    version: MANIFEST_VERSION,
    kind: published.kind,
    job: model.job_id,
    round: model.round,
    blobs: [{ name: published.blob, sha256: model.sha256, size: Number(model.byte_size) }],
    previousManifest: previousDigest,
    contributors,
    paramsDigest,
    policyVersion: `medfed-policy-${POLICY.version}`,
    issuedAt: rfc3339(now),
  };
}
