import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { evaluateGate, type GateDecision } from '@medfed/gate';
import { TRAINER_BUNDLE_HEADER } from '@medfed/proto/attestation/index';
import { FederationError } from './errors.js';

/**
 * Admission of a trainer build to a job: the supply-chain gate evaluates the build's artifact for
 * the coordinator's environment, and the build's measurement (the digest its attestations carry:
 * SHA-256 of its bundle listing) is bound to the gated files: every file entry of the listing must
 * match the artifact byte for byte. Runtime entries (the Node.js binary) are as declared.
 */
export interface TrainerAdmissionRequest {
  /** Directory of the trainer bundle, on the coordinator's host. */
  readonly artifactPath: string;
  /** The bundle listing (`medfed-trainer-bundle/1` text) whose SHA-256 is the measurement. */
  readonly listing: string;
  readonly vulnReportPath?: string;
  readonly sbomPath?: string;
  readonly signaturePath?: string;
  readonly trustedKeyPaths?: readonly string[];
}

export interface TrainerAdmission {
  readonly measurement: string;
  readonly decision: GateDecision;
}

const GATE_ENV = { development: 'dev', production: 'prod' } as const;

async function checkListingAgainstArtifact(listing: string, dir: string): Promise<void> {
  const lines = listing.split('\n').filter((l) => l.length > 0);
  if (lines[0] !== TRAINER_BUNDLE_HEADER) {
    throw new FederationError('VALIDATION_FAILED', `listing must start with the line "${TRAINER_BUNDLE_HEADER}"`);
  }
  let files = 0;
  for (const line of lines.slice(1)) {
    const m = /^F ([0-9a-f]{64}) (.+)$/.exec(line);
    if (!m) continue; // symlinks and runtime binaries outside the bundle directory
    const path = m[2]!;
    if (path.includes('..') || path.startsWith('/')) throw new FederationError('VALIDATION_FAILED', `listing path ${path} is not relative`);
    const bytes = await readFile(join(dir, path)).catch(() => null);
    if (bytes === null) {
      if (path.startsWith('runtime/')) continue; // the runtime is measured on the agent host
      throw new FederationError('VALIDATION_FAILED', `listing names ${path}, which the artifact lacks`);
    }
    if (createHash('sha256').update(bytes).digest('hex') !== m[1]) {
      throw new FederationError('VALIDATION_FAILED', `artifact file ${path} differs from the listing: the measurement would not describe this build`);
    }
    files++;
  }
  if (files === 0) throw new FederationError('VALIDATION_FAILED', 'the listing names no file of the artifact');
}

export async function evaluateTrainerAdmission(req: TrainerAdmissionRequest, env: 'development' | 'production'): Promise<TrainerAdmission> {
  await checkListingAgainstArtifact(req.listing, req.artifactPath);
  const decision = await evaluateGate({
    artifact: req.artifactPath,
    env: GATE_ENV[env],
    ...(req.vulnReportPath ? { vulnReport: req.vulnReportPath } : {}),
    ...(req.sbomPath ? { sbom: req.sbomPath } : {}),
    ...(req.signaturePath ? { signature: req.signaturePath } : {}),
    ...(req.trustedKeyPaths ? { trustedKeys: req.trustedKeyPaths } : {}),
  });
  return { measurement: createHash('sha256').update(req.listing, 'utf8').digest('hex'), decision };
}
