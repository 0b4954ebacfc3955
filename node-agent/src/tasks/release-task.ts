import { encodeVector, MedfedError, parameterCount, sha256Hex, type JobSpec } from '@medfed/proto';
import type { ReleaseStatementClaims, ReleaseStep } from '@medfed/proto/release/index';
import type { Logger } from 'pino';
import { requireReleaseApprovals, type ReleaseApprovalTrust } from '../governance/release-approvals.js';
import { CoordinatorError } from '../transport/client.js';
import { reconstructGlobal, type ModelContext } from './encrypted-model.js';
import { taskEncryption } from './encryption-context.js';

/** What a release task says (Task.release_json), validated here: the agent does not trust the coordinator's JSON. */
export interface ReleaseTaskBody {
  readonly release: string;
  readonly step: ReleaseStep;
  readonly round: number;
  readonly inputModelId: string;
  readonly inputSha256: string;
  /** The site stewards' signed approvals the coordinator recorded (compact JWS); verified here, never trusted. */
  readonly approvals: readonly string[];
  /** Reproduce step: the digest the decrypting site announced. */
  readonly expectedSha256?: string;
}

export interface ReleaseContext extends ModelContext {
  readonly spec: JobSpec;
  readonly log: Logger;
  /** Signs a release statement with this node's attestation key. */
  signStatement(claims: ReleaseStatementClaims): string;
  /** The consortium and the steward keys this site pinned: what the release's approvals are verified with. */
  readonly approvalTrust: ReleaseApprovalTrust;
}

export type ReleaseOutcome = 'decrypted' | 'released' | 'refused';

const HEX64 = /^[0-9a-f]{64}$/;
/** More approvals than any consortium has sites is not a release task but noise. */
const MAX_APPROVALS = 256;

export function parseReleaseTask(json: string): ReleaseTaskBody {
  let body: Partial<ReleaseTaskBody>;
  try {
    body = JSON.parse(json) as Partial<ReleaseTaskBody>;
  } catch {
    throw new MedfedError('TASK_INVALID', 'the release task is not JSON');
  }
  const ok = body && typeof body.release === 'string' && body.release.length > 0 && body.release.length <= 128
    && (body.step === 'decrypt' || body.step === 'reproduce') && Number.isInteger(body.round) && body.round! >= 1
    && typeof body.inputModelId === 'string' && typeof body.inputSha256 === 'string' && HEX64.test(body.inputSha256)
    && (body.expectedSha256 === undefined || (typeof body.expectedSha256 === 'string' && HEX64.test(body.expectedSha256)))
    && (body.approvals === undefined || (Array.isArray(body.approvals) && body.approvals.length <= MAX_APPROVALS && body.approvals.every((a) => typeof a === 'string')));
  if (!ok) throw new MedfedError('TASK_INVALID', 'the release task is incomplete (release, step, round, input model and digest, approvals)');
  // A task without approvals (an older coordinator) is a release nobody signed: the check below refuses it.
  return { ...body, approvals: body.approvals ?? [] } as ReleaseTaskBody;
}

/**
 * This site's step of a model release. First, before anything is fetched or decrypted, this site
 * verifies that a majority of the job's stewards signed this exact release with the keys it pinned
 * (governance/release-approvals.ts): APPROVAL_QUORUM_NOT_MET otherwise, whatever state the
 * coordinator shows. Both steps then rebuild the plaintext global model the way a round
 * does (the initial model, then the job's server step on each decrypted round mean, every download
 * verified against its signed manifest), up to the released round. Decrypt: upload the float32 bytes with a signed statement of
 * their digest. Reproduce: sign the digest this site computed, without being told the first site's
 * (the coordinator compares them and refuses the release on a difference; the signed statement makes
 * the refusal attributable). No model byte leaves the reproducing site either way.
 */
export async function runReleaseTask(ctx: ReleaseContext): Promise<ReleaseOutcome> {
  const body = parseReleaseTask(ctx.task.releaseJson);
  const quorum = requireReleaseApprovals({ job: ctx.task.jobId, release: body.release, round: body.round, inputSha256: body.inputSha256, approvals: body.approvals },
    ctx.spec, ctx.approvalTrust);
  ctx.log.info({ job: ctx.task.jobId, round: body.round, release: body.release, stewards: quorum.signed.steward },
    `release approved by the stewards' signatures, verified with this site's pins: ${quorum.summary}`);
  const enc = taskEncryption(ctx.task);
  if (!enc) throw new MedfedError('TASK_INVALID', 'a release task must carry the job\'s encryption settings and model chain');
  const last = enc.chain.at(-1);
  if (!last || last.kind !== 'update-sum' || last.round !== body.round || last.modelId !== body.inputModelId || last.sha256 !== body.inputSha256
    || ctx.task.round !== body.round) {
    throw new MedfedError('TASK_INVALID', `the model chain of release ${body.release} does not end with the encrypted sum of round ${body.round} it names`);
  }
  const params = parameterCount(ctx.spec.features.length, ctx.spec.model.hidden, ctx.spec.classes.length);
  const plaintext = encodeVector(await reconstructGlobal(ctx, enc, params));
  const sha256 = sha256Hex(plaintext);
  // A task that names a digest (not this coordinator's) is still checked here before countersigning.
  const agrees = body.step === 'decrypt' || body.expectedSha256 === undefined || sha256 === body.expectedSha256;
  const statement = ctx.signStatement({
    release: body.release, site: ctx.siteId, job: ctx.task.jobId, round: body.round, step: body.step,
    inputSha256: body.inputSha256, sha256, agrees, iat: Math.floor(Date.now() / 1000),
  });
  const header = { siteId: ctx.siteId, releaseId: body.release, statement };
  if (body.step === 'decrypt') {
    const receipt = await ctx.client.submitRelease(header, plaintext);
    ctx.log.info({ job: ctx.task.jobId, round: body.round, release: body.release, sha256 }, 'model decrypted for release and uploaded with this site\'s signed statement');
    return receipt.state === 'released' ? 'released' : 'decrypted';
  }
  if (!agrees) {
    ctx.log.error({ job: ctx.task.jobId, round: body.round, release: body.release, sha256, announced: body.expectedSha256 },
      'release NOT countersigned: this site reproduced a different plaintext digest than the decrypting site announced');
  }
  try {
    const receipt = await ctx.client.submitRelease(header, new Uint8Array(0));
    ctx.log.info({ job: ctx.task.jobId, round: body.round, release: body.release, sha256 }, 'release countersigned: the coordinator found this site\'s digest equal to the decrypting site\'s');
    return receipt.state === 'released' ? 'released' : 'decrypted';
  } catch (err) {
    // The coordinator refuses the release on a mismatch; for this site that is the expected answer.
    if (err instanceof CoordinatorError && err.code === 'RELEASE_HASH_MISMATCH') {
      ctx.log.error({ job: ctx.task.jobId, round: body.round, release: body.release, sha256 },
        'release NOT countersigned: this site reproduced a different plaintext digest than the decrypting site');
      return 'refused';
    }
    throw err;
  }
}
