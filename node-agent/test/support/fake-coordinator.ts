import { createHash, randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import {
  chunksOf, encodeVector, FederationService, TaskKind,
  type HeartbeatRequest, type JobSpec, type ReportMetricsRequest, type Task, type UpdateChunk, type UpdateHeader,
} from '@medfed/proto';

/** A refusal the fake answers with: a gRPC status, and (unless omitted) the `medfed-code` trailer. */
export interface Failure {
  readonly status: grpc.status;
  readonly code?: string;
  readonly leader?: string;
  readonly message?: string;
  /** ROUND_CLOSED on a semi-asynchronous job: the training round open now (`medfed-open-round` trailer). */
  readonly openRound?: number | string;
}

export type Method = 'enroll' | 'issueToken' | 'heartbeat' | 'pollTask' | 'downloadModel' | 'reportMetrics' | 'submitUpdate' | 'reportJobApproval';

export interface ReceivedUpload {
  readonly header: UpdateHeader;
  readonly payload: Buffer;
  readonly sha256: string;
  /** The medfed code it was refused with, or 'accepted' / 'acknowledged' (an identical resend). */
  readonly outcome: string;
}

function serviceError(f: Failure): grpc.ServiceError {
  const metadata = new grpc.Metadata();
  if (f.code) metadata.set('medfed-code', f.code);
  if (f.leader) metadata.set('medfed-leader', f.leader);
  if (f.openRound !== undefined) metadata.set('medfed-open-round', String(f.openRound));
  const details = f.code ? `${f.code}: ${f.message ?? 'injected'}` : (f.message ?? 'injected');
  return Object.assign(new Error(details), { code: f.status, details, metadata });
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * A real gRPC medfed.v1.Federation server on loopback, scripted by the test: it hands out the tasks
 * `task()` returns (a fresh attestation nonce each poll, as the coordinator does), serves models,
 * records every call, and answers with the failures `fault()` injects. Like the coordinator after
 * its idempotency change, it acknowledges an identical repeated metrics report or update and
 * refuses a different one (METRICS_CONFLICT, DUPLICATE_SUBMISSION).
 */
export class FakeCoordinator {
  readonly server: grpc.Server;
  address = '';
  readonly calls: Record<string, number> = {};
  readonly uploads: ReceivedUpload[] = [];
  readonly metrics: ReportMetricsRequest[] = [];
  readonly heartbeats: HeartbeatRequest[] = [];
  /** The nonces handed out, in order. */
  readonly nonces: string[] = [];
  readonly models = new Map<string, Buffer>();
  /** Models served as encrypted sums (ciphertext; no parameter count). */
  readonly #encrypted = new Set<string>();
  task: () => Task | undefined = () => undefined;
  fault: (method: Method, request?: unknown) => Failure | undefined = () => undefined;
  readonly #metricsByKey = new Map<string, string>();
  readonly #accepted = new Map<string, { submissionId: string; sha256: string }>();

  /** `serverOptions`: for example interceptors, to answer as a coordinator of another protocol version would. */
  constructor(serverOptions: grpc.ServerOptions = {}) {
    this.server = new grpc.Server(serverOptions);
  }

  static async start(serverOptions: grpc.ServerOptions = {}): Promise<FakeCoordinator> {
    const fake = new FakeCoordinator(serverOptions);
    fake.server.addService(FederationService, fake.#handlers() as grpc.UntypedServiceImplementation);
    const port = await new Promise<number>((resolve, reject) =>
      fake.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    fake.address = `127.0.0.1:${port}`;
    return fake;
  }

  async close(): Promise<void> {
    this.server.forceShutdown();
  }

  /** Forgets the round's update and metrics (a round restarted from another model). */
  resetRound(jobId: string, round: number): void {
    for (const key of [...this.#accepted.keys()]) if (key.startsWith(`${jobId}|${round}|`)) this.#accepted.delete(key);
    for (const key of [...this.#metricsByKey.keys()]) if (key.startsWith(`${jobId}|${round}|`)) this.#metricsByKey.delete(key);
  }

  addModel(modelId: string, weights: Float32Array): { modelId: string; modelSha256: string } {
    const bytes = encodeVector(weights);
    this.models.set(modelId, bytes);
    return { modelId, modelSha256: sha256(bytes) };
  }

  /** An encrypted round sum (the accumulator's bytes), served with `encrypted` set as the coordinator does. */
  addEncryptedSum(modelId: string, bytes: Uint8Array): { modelId: string; modelSha256: string } {
    this.models.set(modelId, Buffer.from(bytes));
    this.#encrypted.add(modelId);
    return { modelId, modelSha256: sha256(bytes) };
  }

  count(method: Method): number {
    return this.calls[method] ?? 0;
  }

  #called(method: Method, request?: unknown): Failure | undefined {
    this.calls[method] = (this.calls[method] ?? 0) + 1;
    return this.fault(method, request);
  }

  #handlers() {
    const unary = <Req, Res>(method: Method, fn: (req: Req) => Res | Failure) =>
      (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => {
        const injected = this.#called(method, call.request);
        if (injected) return cb(serviceError(injected));
        const res = fn(call.request);
        if (res && typeof res === 'object' && 'status' in res && typeof res.status === 'number') return cb(serviceError(res as Failure));
        cb(null, res as Res);
      };
    return {
      issueToken: unary('issueToken', () => ({ accessToken: `token-${randomBytes(8).toString('hex')}`, tokenType: 'DPoP', expiresIn: 600 })),
      enroll: unary('enroll', (req: { siteId: string }) => ({ siteId: req.siteId, coordinatorVersion: 'fake', serverTimeMs: Date.now() })),
      heartbeat: unary('heartbeat', (req: HeartbeatRequest) => { this.heartbeats.push(req); return {}; }),
      reportJobApproval: unary('reportJobApproval', () => ({})),
      pollTask: (call: grpc.ServerUnaryCall<{ siteId: string; waitMs: number }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const injected = this.#called('pollTask', call.request);
        if (injected) return cb(serviceError(injected));
        const task = this.task();
        if (!task) {
          // A short long-poll: the agent comes back soon without spinning.
          setTimeout(() => cb(null, { task: undefined, serverTimeMs: Date.now() }), Math.min(100, call.request.waitMs));
          return;
        }
        const nonce = task.attestationNonce ? randomBytes(32).toString('base64url') : '';
        if (nonce) this.nonces.push(nonce);
        cb(null, { task: { ...task, attestationNonce: nonce }, serverTimeMs: Date.now() });
      },
      reportMetrics: unary('reportMetrics', (req: ReportMetricsRequest) => {
        const key = `${req.jobId}|${req.round}|${req.siteId}|${req.phase}`;
        const body = JSON.stringify(req);
        const earlier = this.#metricsByKey.get(key);
        if (earlier !== undefined && earlier !== body) {
          return { status: grpc.status.ALREADY_EXISTS, code: 'METRICS_CONFLICT', message: `different ${req.phase} metrics for round ${req.round}` };
        }
        this.#metricsByKey.set(key, body);
        this.metrics.push(req);
        return {};
      }),
      downloadModel: (call: grpc.ServerWritableStream<{ jobId: string; modelId: string }, unknown>) => {
        const injected = this.#called('downloadModel', call.request);
        if (injected) return call.destroy(serviceError(injected));
        const bytes = this.models.get(call.request.modelId);
        if (!bytes) return call.destroy(serviceError({ status: grpc.status.NOT_FOUND, code: 'UNKNOWN_MODEL' }));
        call.write({ part: { $case: 'header', value: {
          modelId: call.request.modelId, jobId: call.request.jobId, round: 0, byteSize: bytes.byteLength, sha256: sha256(bytes),
          paramCount: this.#encrypted.has(call.request.modelId) ? 0 : bytes.byteLength / 4, encrypted: this.#encrypted.has(call.request.modelId), manifestJws: '', checkpoint: '', leafIndex: 0, treeSize: 0,
          inclusionProof: [], consistencyProof: [],
        } } });
        for (const chunk of chunksOf(bytes)) call.write({ part: { $case: 'data', value: Buffer.from(chunk) } });
        call.end();
      },
      submitUpdate: (call: grpc.ServerReadableStream<UpdateChunk, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        let header: UpdateHeader | undefined;
        const parts: Buffer[] = [];
        call.on('data', (chunk: UpdateChunk) => {
          if (chunk.part?.$case === 'header') header = chunk.part.value;
          else if (chunk.part?.$case === 'data') parts.push(chunk.part.value);
        });
        call.on('end', () => {
          const payload = Buffer.concat(parts);
          const digest = sha256(payload);
          const record = (outcome: string) => this.uploads.push({ header: header!, payload, sha256: digest, outcome });
          const injected = this.#called('submitUpdate', header);
          if (injected) {
            record(injected.code ?? `grpc-${injected.status}`);
            return cb(serviceError(injected));
          }
          const key = `${header!.jobId}|${header!.round}|${header!.siteId}`;
          const earlier = this.#accepted.get(key);
          if (earlier && (earlier.submissionId !== header!.submissionId || earlier.sha256 !== digest)) {
            record('DUPLICATE_SUBMISSION');
            return cb(serviceError({ status: grpc.status.ALREADY_EXISTS, code: 'DUPLICATE_SUBMISSION', message: 'already submitted' }));
          }
          this.#accepted.set(key, { submissionId: header!.submissionId, sha256: digest });
          record(earlier ? 'acknowledged' : 'accepted');
          cb(null, { submissionId: header!.submissionId, sha256: digest, byteSize: payload.byteLength, alreadyAccepted: Boolean(earlier) });
        });
      },
    };
  }
}

/** A small plaintext job over features f1, f2 (six parameters with no hidden layer). */
export function jobSpec(overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    name: 'journal', features: ['f1', 'f2'], label: 'y', classes: ['low', 'high'], model: { hidden: [], activation: 'relu' },
    training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 7 },
    rounds: 1, minSites: 1, roundDeadlineSeconds: 120, strategy: { name: 'fedavg' }, sites: ['site-a'], standardization: 'none',
    ...overrides,
  };
}

export function trainTask(options: { jobId: string; round: number; spec: JobSpec; model: { modelId: string; modelSha256: string }; deadlineMs?: number; kind?: TaskKind }): Task {
  return {
    jobId: options.jobId, round: options.round, kind: options.kind ?? TaskKind.TASK_KIND_TRAIN, jobSpecJson: JSON.stringify(options.spec),
    standardizationJson: '', modelId: options.model.modelId, modelSha256: options.model.modelSha256, modelRound: options.round - 1,
    weight: 0, deadlineMs: options.deadlineMs ?? Date.now() + 120_000, updateLength: 6, keyTaskJson: '', encryptionJson: '',
    modelChainJson: '', statsSumJson: '', attestationNonce: 'yes', releaseJson: '',
  };
}

/** The CSV of a site: 40 patients, two features, a binary label. */
export function siteCsv(): string {
  return `mrn,f1,f2,y\n${Array.from({ length: 40 }, (_, i) => `MRN-${i},${i / 10},${(i % 7) / 3},${i % 2 ? 'high' : 'low'}`).join('\n')}\n`;
}
