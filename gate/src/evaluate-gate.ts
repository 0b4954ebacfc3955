import { readArtifactWithFileDigests } from './artifact/read-artifact.js';
import type { ArtifactInventory, ArtifactSource } from './artifact/inventory.js';
import { applyExemptions, type UnexemptedTrigger } from './apply-exemptions.js';
import { decide } from './decide.js';
import { GateError } from './errors.js';
import type { GateContext, Loaded } from './gates/gate-context.js';
import { isGateEnvironment, type GateDecision, type GateEnvironment } from './model.js';
import type { GatePolicy } from './policy/gate-policy.js';
import { loadPolicy } from './policy/load-policy.js';
import { readInput, type InputSource } from './read-input.js';
import { runRules } from './run-rules.js';
import { parseCycloneDx } from './sbom/parse-cyclonedx.js';
import { findSensitiveFiles, nameRulesNeedContent } from './sensitive/find-sensitive-files.js';
import { TextSecretScan } from './sensitive/text-secret-scan.js';
import { artifactIssueTriggers } from './artifact-issue-triggers.js';
import { markStricterStops } from './stricter-environments.js';
import { loadPublicKey, type TrustedKey, type TrustedKeySource } from './signature/load-public-key.js';
import { parseSignature } from './signature/parse-signature.js';
import { verifyDigestSignature, type SignatureCheck } from './signature/verify-signature.js';
import { isSha256Digest } from './artifact/digest-format.js';
import { parseVulnReport } from './vulns/parse-vuln-report.js';
import type { VulnReport } from './vulns/vuln-report.js';

export interface VerifiedSignature {
  /** `sha256:<hex>` of the signed file's bytes. */
  readonly subjectDigest: string;
  /** Which trusted key signed it (shown in place of a key fingerprint). */
  readonly keyFingerprint: string;
}

export interface EvaluateGateOptions {
  /** A loaded policy, a policy file path, or omitted for gate/policies/default.yaml. */
  readonly policy?: GatePolicy | string;
  /** Directory path, tarball path, tarball bytes, or files in memory (`{ files: [{ path, bytes }] }`, read as a directory). */
  readonly artifact: ArtifactSource;
  /** Trivy, Grype or npm audit JSON: path or bytes. */
  readonly vulnReport?: InputSource;
  /** CycloneDX JSON: path or bytes. */
  readonly sbom?: InputSource;
  /** base64 signature (or cosign bundle): path or bytes. */
  readonly signature?: InputSource;
  /** PEM SPKI public keys: PEM text, path, bytes or KeyObject. */
  readonly trustedKeys?: readonly TrustedKeySource[];
  /**
   * A signature the caller already verified by other means, instead of `signature`: a trusted key
   * (named by `keyFingerprint`) signed `subjectDigest`, the SHA-256 of one regular file of the
   * artifact. The signature gate counts it as valid only when a file of the artifact hashes to that
   * digest. The agent uses it for a model: the manifest's JWS, verified against pinned keys, signs
   * the SHA-256 of the model blob.
   */
  readonly verifiedSignature?: VerifiedSignature;
  readonly env: GateEnvironment;
  /** The instant exemptions are judged at. */
  readonly now?: Date;
}

/**
 * Evaluates an artifact against the policy for one environment. Never throws for bad inputs: an
 * unreadable or unparseable policy, artifact, report, SBOM, signature or key, and a report made for
 * another digest, each become an `input` trigger whose action is always `stop`. So does an unsafe
 * entry in the artifact; a part the gate could not inspect (over a scan limit, a format it does not
 * open) is an `input` stop in staging and prod and a warning in dev.
 */
export async function evaluateGate(options: EvaluateGateOptions): Promise<GateDecision> {
  if (!isGateEnvironment(options.env)) {
    throw new GateError('GATE_ENV_INVALID', `env ${JSON.stringify(options.env)} is not one of dev, staging, prod`);
  }
  const env = options.env;
  const now = options.now ?? new Date();
  const inputTriggers: UnexemptedTrigger[] = [];
  const refuse = (trigger: string, subject: string, error: unknown): void => {
    if (!(error instanceof GateError)) throw error;
    inputTriggers.push({ gate: 'input', trigger, action: 'stop', subject, message: error.message, code: error.code });
  };

  const policy = await attempt(() => (typeof options.policy === 'object' ? Promise.resolve(options.policy) : loadPolicy(options.policy)), (error) =>
    refuse('policy', typeof options.policy === 'string' ? options.policy : 'default policy', error),
  );
  if (policy && !policy.environments[env]) {
    refuse('policy', policy.identity.source, new GateError('GATE_ENV_INVALID', `policy ${policy.identity.source} has no rules for environment ${env}; add environments.${env}.rules`));
  }

  const artifactName = typeof options.artifact === 'string' ? options.artifact : options.artifact instanceof Uint8Array ? 'artifact bytes' : 'artifact files';
  const read = await attempt(
    () =>
      readArtifactWithFileDigests(options.artifact, {
        wantContent: nameRulesNeedContent,
        scanText: (path) => new TextSecretScan(path),
        ...(policy?.limits ? { limits: policy.limits } : {}),
      }),
    (error) => refuse('artifact', artifactName, error),
  );
  const artifact = read?.inventory ?? null;
  if (artifact) inputTriggers.push(...artifactIssueTriggers(artifact, env));
  const subjectDigest = artifact?.digest ?? 'unreadable artifact';

  const vulnReport = await loadOptional(options.vulnReport, 'vulnerability report', async (bytes, what) => bindReport(parseVulnReport(bytes, what), artifact, what), (subject, error) =>
    refuse('vuln_report', subject, error),
  );
  const sbom = await loadOptional(options.sbom, 'SBOM', async (bytes, what) => parseCycloneDx(bytes, what), (subject, error) => refuse('sbom', subject, error));
  const signature = options.verifiedSignature !== undefined
    ? checkVerifiedSignature(options, read?.fileDigests ?? null, (subject, error) => refuse('signature', subject, error))
    : await loadSignature(options, artifact, (trigger, subject, error) => refuse(trigger, subject, error));

  const context: GateContext = {
    artifact,
    subjectDigest,
    vulnReport,
    sbom,
    signature,
    sensitiveFindings: artifact ? findSensitiveFiles(artifact.entries) : [],
  };
  const ruleTriggers = policy ? markStricterStops(runRules(policy, env, context), policy, env, context) : [];
  const triggers = applyExemptions([...inputTriggers, ...ruleTriggers], policy?.exemptions ?? [], env, now);
  return {
    decision: decide(triggers),
    env,
    artifactDigest: artifact?.digest ?? null,
    artifactKind: artifact?.kind ?? null,
    imageDigests: artifact?.image?.digests ?? [],
    policy: policy?.identity ?? null,
    evaluatedAt: now.toISOString(),
    triggers,
  };
}

async function attempt<T>(load: () => Promise<T>, onError: (error: unknown) => void): Promise<T | null> {
  try {
    return await load();
  } catch (error) {
    onError(error);
    return null;
  }
}

async function loadOptional<T>(
  source: InputSource | undefined,
  what: string,
  parse: (bytes: Buffer, what: string) => Promise<T>,
  onError: (subject: string, error: unknown) => void,
): Promise<Loaded<T>> {
  if (source === undefined) return { state: 'absent' };
  const subject = typeof source === 'string' ? source : `${what} bytes`;
  const where = typeof source === 'string' ? `${what} ${source}` : what;
  const value = await attempt(async () => parse(await readInput(source, what), where), (error) => onError(subject, error));
  return value === null ? { state: 'failed' } : { state: 'ok', value };
}

/** A report that names image digests must name this artifact's (or, for an OCI layout, its image's). */
function bindReport(report: VulnReport, artifact: ArtifactInventory | null, what: string): VulnReport {
  if (!artifact || report.claimedDigests.length === 0) return report;
  const identities = new Set([artifact.digest, ...(artifact.image?.digests ?? [])]);
  if (report.claimedDigests.some((digest) => identities.has(digest))) return report;
  throw new GateError(
    'GATE_VULN_REPORT_DIGEST_MISMATCH',
    `${what} describes ${report.claimedDigests.join(', ')}, not this artifact (${[...identities].join(', ')}); scan this artifact's digest`,
  );
}

/** A caller-verified signature counts only for a file that is part of this artifact, byte for byte. */
function checkVerifiedSignature(
  options: EvaluateGateOptions,
  fileDigests: ReadonlyMap<string, string> | null,
  refuse: (subject: string, error: unknown) => void,
): Loaded<SignatureCheck> {
  const verified = options.verifiedSignature!;
  if (options.signature !== undefined) {
    refuse('signature', new GateError('GATE_USAGE', 'give either a signature to check or a signature already verified, not both'));
    return { state: 'failed' };
  }
  if (!isSha256Digest(verified.subjectDigest)) {
    refuse('verified signature', new GateError('GATE_DIGEST_INVALID', `the verified signature's subject ${JSON.stringify(verified.subjectDigest)} is not sha256:<64 lowercase hex>`));
    return { state: 'failed' };
  }
  if (!fileDigests) return { state: 'failed' };
  const hex = verified.subjectDigest.slice('sha256:'.length);
  const covers = [...fileDigests.values()].includes(hex);
  return { state: 'ok', value: covers ? { valid: true, keyFingerprint: verified.keyFingerprint } : { valid: false, keyFingerprint: null } };
}

async function loadSignature(
  options: EvaluateGateOptions,
  artifact: ArtifactInventory | null,
  refuse: (trigger: string, subject: string, error: unknown) => void,
): Promise<Loaded<SignatureCheck>> {
  if (options.signature === undefined) return { state: 'absent' };
  const keys: TrustedKey[] = [];
  for (const [index, source] of (options.trustedKeys ?? []).entries()) {
    const subject = typeof source === 'string' && !source.trimStart().startsWith('-----BEGIN') ? source : `trusted key ${index + 1}`;
    const key = await attempt(() => loadPublicKey(source), (error) => refuse('key', subject, error));
    if (key) keys.push(key);
  }
  if ((options.trustedKeys ?? []).length === 0) {
    refuse('key', 'trusted keys', new GateError('GATE_KEY_INVALID', 'a signature was given but no trusted key to check it with (--key PUBKEY.pem)'));
  }
  const subject = typeof options.signature === 'string' ? options.signature : 'signature bytes';
  const signature = await attempt(async () => parseSignature(await readInput(options.signature as InputSource, 'signature'), `signature ${subject}`), (error) =>
    refuse('signature', subject, error),
  );
  if (!signature || !artifact || keys.length === 0) return { state: 'failed' };
  return { state: 'ok', value: verifyDigestSignature(artifact.digest, signature, keys) };
}

