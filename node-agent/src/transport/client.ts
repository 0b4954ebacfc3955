import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import {
  chunksOf, FederationClient, FederationService, MedfedError,
  type EnrollResponse, type HeartbeatRequest, type ModelHeader, type PollTaskResponse,
  type ReportMetricsRequest, type SubmitUpdateResponse, type UpdateHeader,
} from '@medfed/proto';
import type { AgentIdentity, AgentKey } from '../identity/identity-files.js';
import { NodeCredentials } from '../identity/node-credentials.js';
import { TrustError } from '../verification/errors.js';
import type { ExpectedDownload } from '../verification/expected.js';
import type { ModelVerifier } from '../verification/model-verifier.js';
import { versionNegotiation, type VersionNegotiation } from './version-negotiation.js';

/** A refusal from the coordinator, with its stable code (from the `medfed-code` trailer). */
export class CoordinatorError extends MedfedError {
  readonly grpcStatus: number;
  /** NOT_LEADER: the leader replica's gRPC address (`medfed-leader` trailer), when the coordinator knows it. */
  readonly leader: string | undefined;
  /**
   * ROUND_CLOSED on a semi-asynchronous job: the training round open now (`medfed-open-round`
   * trailer), where a late update may still count. Absent when none is open or the trailer is not a
   * positive integer.
   */
  readonly openRound: number | undefined;
  constructor(code: string, message: string, grpcStatus: number, leader?: string, openRound?: number) {
    super(code, message);
    this.grpcStatus = grpcStatus;
    this.leader = leader;
    this.openRound = openRound;
  }
}

/**
 * Codes for calls that ended without a medfed code, so that the retry policy decides by code:
 * the coordinator (or the way to it) is down, too slow, or a proxy dropped the call. grpc-js reports
 * a coordinator killed mid-call as UNAVAILABLE ("Connection dropped", ECONNRESET).
 */
const WITHOUT_TRAILER: Readonly<Partial<Record<number, string>>> = {
  [grpc.status.UNAVAILABLE]: 'COORDINATOR_UNAVAILABLE',
  [grpc.status.DEADLINE_EXCEEDED]: 'COORDINATOR_TIMEOUT',
  [grpc.status.CANCELLED]: 'COORDINATOR_CONNECTION_LOST',
  [grpc.status.UNKNOWN]: 'COORDINATOR_CONNECTION_LOST',
};

const ADDRESS = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/;

/** A round number from a trailer: decimal digits of a positive safe integer, nothing else. */
export function parseOpenRound(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^[1-9][0-9]{0,15}$/.test(value)) return undefined;
  const round = Number(value);
  return Number.isSafeInteger(round) ? round : undefined;
}

/** A gRPC refusal as a CoordinatorError with the coordinator's stable code. */
export function fromServiceError(err: grpc.ServiceError): CoordinatorError {
  const code = String(err.metadata?.get('medfed-code')[0] ?? '') || WITHOUT_TRAILER[err.code] || 'GRPC_ERROR';
  const message = (err.details ?? err.message).replace(new RegExp(`^${code}: `), '');
  const leader = String(err.metadata?.get('medfed-leader')[0] ?? '');
  const openRound = parseOpenRound(err.metadata?.get('medfed-open-round')[0]);
  return new CoordinatorError(code, message, err.code, ADDRESS.test(leader) ? leader : undefined, openRound);
}

/** Refusals after which a fresh token fixes the call: it is retried once with one. */
const RENEW_AND_RETRY = new Set(['AUTH_TOKEN_EXPIRED', 'AUTH_STREAM_EXPIRED']);

export interface CoordinatorClientOptions {
  /** Version negotiation: what every call announces, and what to do when the coordinator is a minor ahead. */
  readonly protocol?: VersionNegotiation;
}

type UnaryMethod<Req, Res> = (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: Res) => void) => unknown;

/**
 * The agent's side of medfed.v1.Federation, as promises and verified byte streams. With credentials,
 * every call carries `authorization: DPoP <token>` and a fresh `dpop` proof (docs/auth.md). Every call
 * announces the agent's protocol and release version (version-negotiation.ts).
 */
export class CoordinatorClient {
  private readonly client: InstanceType<typeof FederationClient>;
  private readonly auth: NodeCredentials | null;
  /** Verification before load (the agent sets it); without one, downloads are only hashed. */
  verifier: ModelVerifier | null = null;

  constructor(address: string, credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(), identity?: { identity: AgentIdentity; key: AgentKey },
    options: CoordinatorClientOptions = {}) {
    this.client = new FederationClient(address, credentials, {
      'grpc.max_receive_message_length': 4 * 1024 * 1024,
      'grpc.keepalive_time_ms': 30_000,
      interceptors: [versionNegotiation(options.protocol)],
    });
    this.auth = identity
      ? new NodeCredentials({ ...identity, authority: address, issue: (assertion, md) => this.issueToken(assertion, md) })
      : null;
  }

  /** The agent's credentials (null for a client without identity). */
  get credentials(): NodeCredentials | null {
    return this.auth;
  }

  close(): void {
    this.client.close();
  }

  private metadata(path: string, minValidityMs?: number): Promise<grpc.Metadata> {
    return this.auth ? this.auth.metadataFor(path, minValidityMs) : Promise.resolve(new grpc.Metadata());
  }

  /** Streams get a token with at least half its lifetime left, so that renewal never has to interrupt them. */
  private streamValidityMs(): number | undefined {
    return this.auth && this.auth.tokenLifetimeMs > 0 ? this.auth.tokenLifetimeMs / 2 : undefined;
  }

  private async unary<Req, Res>(method: UnaryMethod<Req, Res>, path: string, req: Req, timeoutMs = 60_000, renewed = false): Promise<Res> {
    const md = await this.metadata(path);
    try {
      return await new Promise<Res>((resolve, reject) => {
        method.call(this.client, req, md, { deadline: Date.now() + timeoutMs }, (err, res) =>
          err ? reject(fromServiceError(err)) : resolve(res));
      });
    } catch (err) {
      if (this.auth && !renewed && err instanceof CoordinatorError && RENEW_AND_RETRY.has(err.code)) {
        this.auth.invalidate();
        return this.unary(method, path, req, timeoutMs, true);
      }
      throw err;
    }
  }

  /** A stream's refusal; one that says the token ran out drops it, so the retry gets a fresh one. */
  private refused(err: grpc.ServiceError): CoordinatorError {
    const e = fromServiceError(err);
    if (RENEW_AND_RETRY.has(e.code)) this.auth?.invalidate();
    return e;
  }

  /** IssueToken: open, authenticated by the assertion and the DPoP proof in `md`. */
  issueToken(clientAssertion: string, md: grpc.Metadata): Promise<{ accessToken: string; expiresIn: number }> {
    return new Promise((resolve, reject) => {
      this.client.issueToken({ clientAssertion }, md, { deadline: Date.now() + 30_000 }, (err, res) =>
        err ? reject(fromServiceError(err)) : resolve(res));
    });
  }

  /** RotateKey, with the current key's credentials in `md`. */
  rotateKey(request: { siteId: string; newKeyProof: string }, md: grpc.Metadata): Promise<{ keyThumbprint: string }> {
    return new Promise((resolve, reject) => {
      this.client.rotateKey(request, md, { deadline: Date.now() + 30_000 }, (err, res) =>
        err ? reject(fromServiceError(err)) : resolve(res));
    });
  }

  enroll(siteId: string, agentVersion: string, dataSchemaDigest: string, keyAgreementJwk?: object, attestationJwk?: object): Promise<EnrollResponse> {
    return this.unary(this.client.enroll, FederationService.enroll.path, {
      siteId, agentVersion, dataSchemaDigest, keyAgreementJwkJson: keyAgreementJwk ? JSON.stringify(keyAgreementJwk) : '',
      attestationJwkJson: attestationJwk ? JSON.stringify(attestationJwk) : '', witnessVkey: this.verifier?.witnessVkey ?? '',
    });
  }

  submitSiteListSignature(siteId: string, jobId: string, signature: string): Promise<unknown> {
    return this.unary(this.client.submitSiteListSignature, FederationService.submitSiteListSignature.path, { siteId, jobId, signature });
  }

  /** `historyKeys`: earlier epochs' keys wrapped for joiners (site -> epoch -> JWE), when the task asks for them. */
  submitKeyMaterial(siteId: string, jobId: string, publicParams: unknown, wrappedKeys: Record<string, string>,
    historyKeys?: Record<string, Record<string, string>>): Promise<unknown> {
    return this.unary(this.client.submitKeyMaterial, FederationService.submitKeyMaterial.path, {
      siteId, jobId, publicParamsJson: JSON.stringify(publicParams), wrappedKeysJson: JSON.stringify(wrappedKeys),
      historyKeysJson: historyKeys && Object.keys(historyKeys).length > 0 ? JSON.stringify(historyKeys) : '',
    });
  }

  /** The job's wrapped key; `attestation` is the key-release attestation (tasks/key-release.ts builds it). */
  fetchJobKey(siteId: string, jobId: string, attestation = '', epoch = 0): Promise<{ epoch: number; paramSet: string; keyId: string; wrappedKey: string }> {
    return this.unary(this.client.fetchJobKey, FederationService.fetchJobKey.path, { siteId, jobId, attestation, epoch });
  }

  /** A fresh nonce for the attestation FetchJobKey requires, and the key epoch it is bound to. */
  requestKeyReleaseNonce(siteId: string, jobId: string): Promise<{ nonce: string; epoch: number; expiresAtMs: number }> {
    return this.unary(this.client.requestKeyReleaseNonce, FederationService.requestKeyReleaseNonce.path, { siteId, jobId });
  }

  /** Statistics jobs: the publishing site's signed result. */
  publishStatsResult(siteId: string, jobId: string, resultJws: string): Promise<unknown> {
    return this.unary(this.client.publishStatsResult, FederationService.publishStatsResult.path, { siteId, jobId, resultJws });
  }

  heartbeat(req: HeartbeatRequest): Promise<unknown> {
    return this.unary(this.client.heartbeat, FederationService.heartbeat.path, req, 15_000);
  }

  pollTask(siteId: string, waitMs: number): Promise<PollTaskResponse> {
    return this.unary(this.client.pollTask, FederationService.pollTask.path, { siteId, waitMs }, waitMs + 30_000);
  }

  reportMetrics(req: ReportMetricsRequest): Promise<unknown> {
    return this.unary(this.client.reportMetrics, FederationService.reportMetrics.path, req);
  }

  /**
   * Downloads a model and, before returning its bytes, verifies them: with a verifier, against the
   * signed manifest and the log for `expected` (job, round, kind, blob), then against the header's
   * and the task's digest.
   */
  async downloadModel(siteId: string, jobId: string, modelId: string, expectedSha256: string, expected?: ExpectedDownload): Promise<{ header: ModelHeader; bytes: Buffer }> {
    const verifier = this.verifier;
    if (verifier?.verifying && !expected) {
      throw new TrustError('TRUST_EXPECTATION_MISSING', `the download of model ${modelId} does not say which round and kind it must be; refusing to load it unverified`);
    }
    // Refused for too few cosignatures, the download is tried again until the task's deadline (the
    // other sites cosign meanwhile); any other refusal is final.
    const attempt = async (): Promise<{ header: ModelHeader; bytes: Buffer }> => {
      const got = await this.fetchModel(siteId, jobId, modelId, verifier?.knownTreeSize() ?? 0);
      // The signed manifest first, so a refusal names the check that failed; then the announced digests.
      if (verifier && expected) await verifier.verify(got.header, got.bytes, { ...expected, job: expected.job ?? jobId });
      return got;
    };
    const { header, bytes } = verifier && expected ? await verifier.untilCosigned(attempt, expected, `model ${modelId}`) : await attempt();
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (bytes.byteLength !== header.byteSize || digest !== header.sha256 || digest !== expectedSha256) {
      throw new MedfedError('MODEL_DIGEST_MISMATCH', `model ${modelId} bytes hash to ${digest}; the task announced ${expectedSha256}; refusing to load it`);
    }
    return { header, bytes };
  }

  /** One DownloadModel stream: the header and the bytes, bounded by the announced size. */
  private async fetchModel(siteId: string, jobId: string, modelId: string, knownTreeSize: number): Promise<{ header: ModelHeader; bytes: Buffer }> {
    const md = await this.metadata(FederationService.downloadModel.path, this.streamValidityMs());
    return new Promise<{ header: ModelHeader; bytes: Buffer }>((resolve, reject) => {
      const stream = this.client.downloadModel({ siteId, jobId, modelId, knownTreeSize }, md, { deadline: Date.now() + 10 * 60_000 });
      let header: ModelHeader | undefined;
      const parts: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: { part?: { $case: 'header'; value: ModelHeader } | { $case: 'data'; value: Buffer } }) => {
        if (chunk.part?.$case === 'header') header = chunk.part.value;
        else if (chunk.part?.$case === 'data') {
          size += chunk.part.value.byteLength;
          if (header && size > header.byteSize) {
            stream.cancel();
            reject(new MedfedError('MODEL_SIZE_MISMATCH', `model ${modelId} sent more than the ${header.byteSize} bytes announced`));
            return;
          }
          parts.push(chunk.part.value);
        }
      });
      stream.on('error', (err: grpc.ServiceError) => reject(this.refused(err)));
      stream.on('end', () => {
        if (!header) return reject(new MedfedError('MODEL_HEADER_MISSING', `model ${modelId} arrived without a header`));
        resolve({ header, bytes: Buffer.concat(parts, size) });
      });
    });
  }

  /** SubmitCosignature: this site's witness cosignature of a checkpoint it verified. */
  /** The steward's decision on a job as this site applies it, for the coordinator's audit trail. */
  reportJobApproval(report: { siteId: string; jobId: string; approved: boolean; specDigest: string; ethicsRef: string; refusalCode: string; mode: string }): Promise<unknown> {
    return this.unary(this.client.reportJobApproval, FederationService.reportJobApproval.path, report);
  }

  submitCosignature(siteId: string, cosignedCheckpoint: string): Promise<unknown> {
    return this.unary(this.client.submitCosignature, FederationService.submitCosignature.path, { siteId, cosignedCheckpoint });
  }

  /** Streams an update as a header then bounded data chunks; resolves with the coordinator's receipt. */
  submitUpdate(header: Omit<UpdateHeader, 'byteSize' | 'sha256' | 'baseRound'> & { baseRound?: number }, payload: Uint8Array): Promise<SubmitUpdateResponse> {
    const sha256 = createHash('sha256').update(payload).digest('hex');
    return this.upload(FederationService.submitUpdate.path, { baseRound: 0, ...header, byteSize: payload.byteLength, sha256 }, payload,
      (md, options, cb) => this.client.submitUpdate(md, options, cb));
  }

  /**
   * A release step: the header with the site's signed statement, then (decrypting site only) the
   * plaintext model in bounded chunks. An empty payload is a countersignature: no model bytes leave.
   */
  submitRelease(header: { siteId: string; releaseId: string; statement: string }, payload: Uint8Array): Promise<{ releaseId: string; state: string }> {
    const sha256 = payload.byteLength > 0 ? createHash('sha256').update(payload).digest('hex') : '';
    return this.upload(FederationService.submitRelease.path, { ...header, byteSize: payload.byteLength, sha256 }, payload,
      (md, options, cb) => this.client.submitRelease(md, options, cb));
  }

  /** A client-streamed upload: the header, then the payload in bounded chunks, honouring back-pressure. */
  private async upload<H, R>(
    path: string, header: H, payload: Uint8Array,
    open: (md: grpc.Metadata, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: R) => void) =>
      grpc.ClientWritableStream<{ part: { $case: 'header'; value: H } | { $case: 'data'; value: Buffer } | undefined }>,
  ): Promise<R> {
    const md = await this.metadata(path, this.streamValidityMs());
    return new Promise((resolve, reject) => {
      const call = open(md, { deadline: Date.now() + 10 * 60_000 }, (err, res) => (err ? reject(this.refused(err)) : resolve(res!)));
      void (async () => {
        const write = async (msg: Parameters<typeof call.write>[0]) => {
          if (!call.write(msg)) await new Promise((r) => call.once('drain', r));
        };
        await write({ part: { $case: 'header', value: header } });
        for (const chunk of chunksOf(payload)) await write({ part: { $case: 'data', value: Buffer.from(chunk) } });
        call.end();
      })().catch(reject);
    });
  }
}
