import type { JSONWebKeySet } from 'jose';
import { anchorLeafBytes, type AnchorRecord, type TlogEvidenceVerifier } from '../anchor.js';
import { AuditError } from '../errors.js';
import { parseTruncationPayload } from '../truncation.js';
import type { VerifyProblem } from '../verify/problem.js';
import { verifyCompactJws } from './jws.js';
import { AUDIT_BUNDLE_FILES } from './layout.js';
import type { BundleManifest } from './manifest.js';
import type { BundleFile } from './read-bundle.js';

export type CheckState = 'verified' | 'failed' | 'unchecked' | 'absent';

export interface CheckResult {
  readonly state: CheckState;
  readonly problems: readonly VerifyProblem[];
}

const fileProblem = (code: VerifyProblem['code'], message: string): VerifyProblem => ({ code, seq: null, line: null, message });

/** Every file listed with the right SHA-256 and size, and nothing unlisted. */
export function checkFileDigests(m: BundleManifest, files: ReadonlyMap<string, BundleFile>): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  const listed = new Set<string>();
  for (const f of m.files) {
    listed.add(f.path);
    const got = files.get(f.path);
    if (!got) problems.push(fileProblem('AUDIT_BUNDLE_FILE_MISMATCH', `"${f.path}" is listed in the manifest but absent from the bundle`));
    else if (got.sha256 !== f.sha256 || got.bytes !== f.bytes) {
      problems.push(fileProblem('AUDIT_BUNDLE_FILE_MISMATCH', `"${f.path}" has SHA-256 ${got.sha256} (${got.bytes} bytes); the manifest says ${f.sha256} (${f.bytes} bytes)`));
    }
  }
  for (const spec of AUDIT_BUNDLE_FILES) {
    if (spec.inManifest && files.has(spec.name) && !listed.has(spec.name)) problems.push(fileProblem('AUDIT_BUNDLE_FILE_MISMATCH', `"${spec.name}" is in the bundle but not in the manifest`));
  }
  return problems;
}

/** manifest.jws must be a valid signature, by a key of the JWKS, over manifest.json byte for byte. */
export async function checkManifestSignature(files: ReadonlyMap<string, BundleFile>, jwks: JSONWebKeySet | null): Promise<CheckResult> {
  const manifestBytes = files.get('manifest.json')?.content;
  const jws = files.get('manifest.jws')?.content;
  if (!manifestBytes || !jws) return { state: 'absent', problems: [] };
  if (!jwks) return { state: 'failed', problems: [fileProblem('AUDIT_SIGNATURE_INVALID', 'no usable JWKS to check manifest.jws against')] };
  try {
    const payload = await verifyCompactJws(jws.toString('utf8'), jwks, 'manifest.jws');
    return Buffer.compare(Buffer.from(payload), manifestBytes) === 0
      ? { state: 'verified', problems: [] }
      : { state: 'failed', problems: [fileProblem('AUDIT_SIGNATURE_INVALID', 'manifest.jws is validly signed but its payload is not manifest.json byte for byte')] };
  } catch (err) {
    return { state: 'failed', problems: [fileProblem('AUDIT_SIGNATURE_INVALID', (err as Error).message)] };
  }
}

/** After a purge the range starts at a signed truncation anchor: it must verify and match the manifest. */
export async function checkTruncation(m: BundleManifest | null, files: ReadonlyMap<string, BundleFile>, jwks: JSONWebKeySet | null): Promise<CheckResult> {
  const jws = files.get('truncation.jws')?.content;
  if (!m?.truncation && !jws) return { state: 'absent', problems: [] };
  const fail = (message: string, seq: number | null = null): CheckResult => ({ state: 'failed', problems: [{ code: seq === null ? 'AUDIT_TRUNCATION_INVALID' : 'AUDIT_CHAIN_START_MISMATCH', seq, line: seq === null ? null : 1, message }] });
  if (!m?.truncation || !jws) {
    return fail(m?.truncation ? 'the manifest names a truncation anchor but truncation.jws is missing' : 'truncation.jws is present but the manifest names no truncation anchor');
  }
  if (!jwks) return fail('no usable JWKS to check truncation.jws against');
  try {
    const anchor = parseTruncationPayload(await verifyCompactJws(jws.toString('utf8'), jwks, 'truncation.jws'));
    if (anchor.seq !== m.truncation.seq || anchor.hash !== m.truncation.hash) {
      return fail(`truncation.jws signs seq ${anchor.seq} / ${anchor.hash}, the manifest says seq ${m.truncation.seq} / ${m.truncation.hash}`);
    }
    if (m.chain.first_seq !== null && (m.chain.first_seq !== anchor.seq + 1 || m.chain.first_prev_hash !== anchor.hash)) {
      return fail(`the range must start at seq ${anchor.seq + 1} with prev_hash ${anchor.hash} (the truncation anchor)`, m.chain.first_seq);
    }
    return { state: 'verified', problems: [] };
  } catch (err) {
    return fail((err as Error).message);
  }
}

/** The transparency-log checkpoints and proofs, through the injected verifier when there is one. */
export async function checkTlog(anchors: readonly AnchorRecord[], files: ReadonlyMap<string, BundleFile>, verifyTlog: TlogEvidenceVerifier | undefined): Promise<CheckResult> {
  const checkpoints = files.get('checkpoints.json')?.content;
  const proofs = files.get('proofs.json')?.content;
  if (!checkpoints && !proofs) return { state: 'absent', problems: [] };
  if (!verifyTlog) return { state: 'unchecked', problems: [] };
  try {
    await verifyTlog({
      anchors,
      leaves: anchors.map((a) => ({ leafIndex: a.leaf_index, bytes: anchorLeafBytes(a) })),
      checkpoints: checkpoints ? JSON.parse(checkpoints.toString('utf8')) : null,
      proofs: proofs ? JSON.parse(proofs.toString('utf8')) : null,
    });
    return { state: 'verified', problems: [] };
  } catch (err) {
    const message = err instanceof AuditError ? err.message : (err as Error).message;
    return { state: 'failed', problems: [fileProblem('AUDIT_TLOG_INVALID', `transparency log evidence does not verify: ${message}`)] };
  }
}
