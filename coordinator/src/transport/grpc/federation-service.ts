import * as grpc from '@grpc/grpc-js';
import { chunksOf, PRODUCT_VERSION, sha256Hex, TaskKind, type FederationServer, type ModelChunk, type ReleaseChunk, type Task, type UpdateChunk } from '@medfed/proto';
import type { Logger } from 'pino';
import type { FederationEngine, UpdateHeader } from '../../federation/engine.js';
import type { TaskAssignment } from '../../federation/task-assignment.js';
import { FederationError } from '../../federation/errors.js';
import { participantsOf } from '../../federation/participants.js';
import { failServerStream, grpcError } from './grpc-error.js';
import { receiveUpload } from './upload-stream.js';
import { downloadEvidence } from '../../publishing/download-evidence.js';
import { releaseTaskFor, type ReleaseService, type ReleaseSubmission } from '../../releases/index.js';
import { requestScopeOf, runInRequestScope } from '../../audit/request-events.js';

/** One wire task kind per duty; adding a duty without its kind does not compile. */
const DUTY_KIND: Readonly<Record<TaskAssignment['duty'], TaskKind>> = {
  stats: TaskKind.TASK_KIND_STATS,
  train: TaskKind.TASK_KIND_TRAIN,
  evaluate: TaskKind.TASK_KIND_EVALUATE,
  keys: TaskKind.TASK_KIND_KEYS,
  'stats-query': TaskKind.TASK_KIND_STATS_QUERY,
  'stats-publish': TaskKind.TASK_KIND_STATS_PUBLISH,
};
const MAX_WAIT_MS = 30_000;

/** gRPC errors carry the stable code in trailing metadata (`medfed-code`) and as the message prefix. */
function toTask(a: TaskAssignment): Task {
  return {
    jobId: a.jobId,
    round: a.round,
    kind: DUTY_KIND[a.duty],
    jobSpecJson: JSON.stringify(a.spec),
    standardizationJson: a.standardization ? JSON.stringify(a.standardization) : '',
    modelId: a.modelId ?? '',
    modelSha256: a.modelSha256 ?? '',
    modelRound: a.modelRound,
    weight: 0,
    deadlineMs: a.deadline.getTime(),
    updateLength: a.updateLength,
    keyTaskJson: a.keyTask ? JSON.stringify(a.keyTask) : '',
    encryptionJson: a.encryption ? JSON.stringify(a.encryption) : '',
    modelChainJson: a.modelChain ? JSON.stringify(a.modelChain) : '',
    statsSumJson: a.statsSum ? JSON.stringify(a.statsSum) : '',
    attestationNonce: a.attestationNonce ?? '',
    releaseJson: '',
  };
}

/** The identity RPCs (EnrollKey, IssueToken, RotateKey), served by the auth module. */
export type IdentityHandlers = Pick<FederationServer, 'enrollKey' | 'issueToken' | 'rotateKey'>;

/**
 * The release workflow's part (absent: SubmitRelease is refused and no release task is handed out).
 * Release steps go first in PollTask: they wait on people's approvals already given.
 */
export type ReleaseHandlers = Pick<ReleaseService, 'admit' | 'submit'> & { readonly db: import('../../storage/db.js').Queryable };

export function federationService(engine: FederationEngine, log: Logger, identity: IdentityHandlers, releases?: ReleaseHandlers): FederationServer {
  const unary = <Req, Res>(name: string, fn: (req: Req) => Promise<Res>) =>
    (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => {
      // In the call's audit scope: an event the handler records is the call's one event.
      runInRequestScope(requestScopeOf(call.metadata), () => fn(call.request)).then((res) => cb(null, res), (err) => {
        log.debug({ err, method: name }, 'grpc call refused');
        cb(grpcError(err));
      });
    };

  return {
    ...identity,

    enroll: unary('Enroll', async (req) => {
      const site = await engine.enroll(req.siteId, req.agentVersion.slice(0, 64), req.dataSchemaDigest.slice(0, 128),
        parseJsonField(req.keyAgreementJwkJson, "key_agreement_jwk_json", 1024) as import("jose").JWK | null,
        parseJsonField(req.attestationJwkJson, 'attestation_jwk_json', 1024));
      await engine.publisher?.registerWitnessKey(req.siteId, req.witnessVkey.slice(0, 1024));
      return { siteId: site.id, coordinatorVersion: PRODUCT_VERSION, serverTimeMs: Date.now() };
    }),

    submitSiteListSignature: unary('SubmitSiteListSignature', async (req) => {
      await engine.submitSiteListSignature(req.siteId, req.jobId, req.signature);
      return {};
    }),

    submitKeyMaterial: unary('SubmitKeyMaterial', async (req) => {
      const publicParams = parseJsonField(req.publicParamsJson, 'public_params_json', 8192);
      const wrapped = parseJsonField(req.wrappedKeysJson, 'wrapped_keys_json', 1024 * 1024);
      const history = parseJsonField(req.historyKeysJson, 'history_keys_json', 4 * 1024 * 1024);
      if (!publicParams || !wrapped || typeof wrapped !== 'object') throw new FederationError('VALIDATION_FAILED', 'public_params_json and wrapped_keys_json are required');
      await engine.submitKeyMaterial(req.siteId, req.jobId, publicParams as never, wrapped as Record<string, string>, history ?? undefined);
      return {};
    }),

    submitCosignature: unary('SubmitCosignature', async (req) => {
      if (!engine.publisher) throw new FederationError('VALIDATION_FAILED', 'this coordinator does not collect witness cosignatures');
      await engine.activeSite(req.siteId);
      await engine.publisher.acceptCosignature(req.siteId, req.cosignedCheckpoint);
      return {};
    }),

    // The wrapped key goes out only after the site's key-release attestation verifies (docs/sandbox.md, "Key release").
    requestKeyReleaseNonce: unary('RequestKeyReleaseNonce', async (req) => {
      const issued = await engine.keyRelease.issueNonce(req.siteId, req.jobId);
      return { nonce: issued.nonce, epoch: issued.epoch, expiresAtMs: issued.expiresAt.getTime() };
    }),

    fetchJobKey: unary('FetchJobKey', async (req) => {
      const verdict = await engine.keyRelease.verify(req.siteId, req.jobId, req.attestation.slice(0, 16_384));
      const k = await engine.wrappedKeyFor(req.siteId, req.jobId, verdict, req.epoch);
      return { epoch: k.epoch, paramSet: k.paramSet, keyId: k.keyId, wrappedKey: k.jwe };
    }),

    heartbeat: unary('Heartbeat', async (req) => {
      await engine.heartbeat(req.siteId, {
        state: req.state.slice(0, 32), jobId: req.jobId.slice(0, 128), round: req.round,
        detail: req.detail.slice(0, 2000), logPath: req.logPath.slice(0, 1000),
      });
      if (req.state === 'failed' && req.jobId) await engine.reportFailure(req.siteId, req.jobId, req.round, req.detail);
      return { serverTimeMs: Date.now() };
    }),

    pollTask: unary('PollTask', async (req) => {
      const wait = Math.min(Math.max(req.waitMs, 0), MAX_WAIT_MS);
      const until = Date.now() + wait;
      for (;;) {
        const release = releases ? await engine.activeSite(req.siteId).then(() => releaseTaskFor(releases.db, req.siteId)) : null;
        if (release) return { task: release, serverTimeMs: Date.now() };
        const task = await engine.pollTask(req.siteId);
        if (task || Date.now() >= until) return { task: task ? toTask(task) : undefined, serverTimeMs: Date.now() };
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, Math.min(1000, until - Date.now()));
          function done() { clearTimeout(timer); engine.events.off('changed', done); resolve(); }
          engine.events.once('changed', done);
        });
      }
    }),

    downloadModel(call: grpc.ServerWritableStream<{ siteId: string; jobId: string; modelId: string; knownTreeSize: number }, ModelChunk>) {
      void runInRequestScope(requestScopeOf(call.metadata), async () => {
        const { siteId, jobId, modelId } = call.request;
        await engine.activeSite(siteId);
        const job = await engine.job(jobId);
        if (!participantsOf(job.spec).includes(siteId)) {
          throw new FederationError('SITE_NOT_IN_JOB', `site ${siteId} does not take part in job ${jobId}`);
        }
        const model = await engine.model(jobId, modelId);
        // With publishing, the header carries the signed manifest and the log evidence, and the bytes
        // go out as stored: the site verifies them against the manifest before loading anything.
        const publisher = engine.publisher;
        const evidence = publisher
          ? await downloadEvidence(publisher, model.id, call.request.knownTreeSize)
          : { manifestJws: '', checkpoint: '', leafIndex: 0, treeSize: 0, inclusionProof: [], consistencyProof: [] };
        const bytes = publisher ? await publisher.storedBytes(model) : await engine.modelBytes(model);
        if (publisher && sha256Hex(bytes) !== model.sha256) log.error({ model: model.id, site: siteId }, 'stored model does not match its recorded digest; the site will refuse it');
        call.write({ part: { $case: 'header', value: {
          modelId: model.id, jobId, round: model.round, byteSize: model.byte_size, sha256: model.sha256,
          paramCount: model.param_count, encrypted: model.encrypted, ...evidence,
        } } });
        for (const chunk of chunksOf(bytes)) {
          if (!call.write({ part: { $case: 'data', value: Buffer.from(chunk) } })) {
            await new Promise((r) => call.once('drain', r));
          }
        }
        call.end();
      }).catch((err: unknown) => failServerStream(call, err));
    },

    submitUpdate(call: grpc.ServerReadableStream<UpdateChunk, unknown>, cb: grpc.sendUnaryData<any>) {
      receiveUpload(call, cb, log, {
        first: 'an update', stream: 'the update stream', refused: 'update refused',
        header: (h): UpdateHeader => ({
          siteId: h.siteId, jobId: h.jobId, round: h.round, submissionId: h.submissionId,
          numSamples: h.numSamples, byteSize: h.byteSize, sha256: h.sha256, baseModelId: h.baseModelId, attestation: h.attestation.slice(0, 16_384),
          baseRound: h.baseRound,
        }),
        admit: (h) => engine.admitUpdate(h),
        accept: async (h, payload) => {
          const { contribution, alreadyAccepted } = await engine.acceptUpdate(h, payload);
          return { submissionId: contribution.id, sha256: contribution.sha256, byteSize: contribution.byte_size, alreadyAccepted };
        },
      });
    },

    submitRelease(call: grpc.ServerReadableStream<ReleaseChunk, unknown>, cb: grpc.sendUnaryData<any>) {
      const service = (): NonNullable<typeof releases> => {
        if (!releases) throw new FederationError('VALIDATION_FAILED', 'this coordinator does not run the release workflow');
        return releases;
      };
      receiveUpload(call, cb, log, {
        first: 'a release upload', stream: 'the release upload', refused: 'release step refused',
        header: (h): ReleaseSubmission => ({ siteId: h.siteId, releaseId: h.releaseId, statement: h.statement.slice(0, 8192), byteSize: h.byteSize, sha256: h.sha256 }),
        admit: async (h) => service().admit(h),
        accept: async (h, payload) => {
          const result = await service().submit(h, payload);
          return { releaseId: result.releaseId, state: result.state };
        },
      });
    },

    publishStatsResult: unary('PublishStatsResult', async (req) => {
      await engine.statistics.acceptResult(req.siteId, req.jobId, req.resultJws);
      return {};
    }),

    reportJobApproval: unary('ReportJobApproval', async (req) => {
      await engine.reportJobApproval({
        siteId: req.siteId, jobId: req.jobId.slice(0, 128), approved: req.approved, specDigest: req.specDigest.slice(0, 64),
        ethicsRef: req.ethicsRef.slice(0, 128), refusalCode: req.refusalCode.slice(0, 64), mode: req.mode.slice(0, 16),
      });
      return {};
    }),

    reportMetrics: unary('ReportMetrics', async (req) => {
      await engine.reportMetrics({
        siteId: req.siteId, jobId: req.jobId, round: req.round, phase: req.phase as 'train' | 'eval',
        modelRound: req.modelRound, loss: req.loss, accuracy: req.accuracy, numSamples: req.numSamples,
        privacySpend: req.privacySpend ?? null, paramsSha256: req.paramsSha256,
      });
      return {};
    }),
  };
}

/** A JSON-valued protocol field: empty means absent; oversized or unparseable is refused. */
function parseJsonField(text: string, field: string, maxBytes: number): unknown {
  if (!text) return null;
  if (text.length > maxBytes) throw new FederationError('VALIDATION_FAILED', `${field} exceeds ${maxBytes} bytes`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new FederationError('VALIDATION_FAILED', `${field} is not valid JSON`);
  }
}
