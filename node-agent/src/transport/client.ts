import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import {
  chunksOf, FederationClient, MedfedError,
  type EnrollResponse, type HeartbeatRequest, type ModelHeader, type PollTaskResponse,
  type ReportMetricsRequest, type SubmitUpdateResponse, type UpdateHeader,
} from '@medfed/proto';

/** A refusal from the coordinator, with its stable code (from the `medfed-code` trailer). */
export class CoordinatorError extends MedfedError {
  readonly grpcStatus: number;
  constructor(code: string, message: string, grpcStatus: number) {
    super(code, message);
    this.grpcStatus = grpcStatus;
  }
}

function fromServiceError(err: grpc.ServiceError): CoordinatorError {
  const code = String(err.metadata?.get('medfed-code')[0] ?? '') || (err.code === grpc.status.UNAVAILABLE ? 'COORDINATOR_UNAVAILABLE' : 'GRPC_ERROR');
  const message = (err.details ?? err.message).replace(new RegExp(`^${code}: `), '');
  return new CoordinatorError(code, message, err.code);
}

/** The agent's side of medfed.v1.Federation, as promises and verified byte streams. */
export class CoordinatorClient {
  private readonly client: InstanceType<typeof FederationClient>;

  constructor(address: string, credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure()) {
    this.client = new FederationClient(address, credentials, {
      'grpc.max_receive_message_length': 4 * 1024 * 1024,
      'grpc.keepalive_time_ms': 30_000,
    });
  }

  close(): void {
    this.client.close();
  }

  private unary<Req, Res>(method: (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: Res) => void) => unknown, req: Req, timeoutMs = 60_000): Promise<Res> {
    return new Promise((resolve, reject) => {
      method.call(this.client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) =>
        err ? reject(fromServiceError(err)) : resolve(res));
    });
  }

  enroll(siteId: string, agentVersion: string, dataSchemaDigest: string): Promise<EnrollResponse> {
    return this.unary(this.client.enroll, { siteId, agentVersion, dataSchemaDigest });
  }

  heartbeat(req: HeartbeatRequest): Promise<unknown> {
    return this.unary(this.client.heartbeat, req, 15_000);
  }

  pollTask(siteId: string, waitMs: number): Promise<PollTaskResponse> {
    return this.unary(this.client.pollTask, { siteId, waitMs }, waitMs + 30_000);
  }

  reportMetrics(req: ReportMetricsRequest): Promise<unknown> {
    return this.unary(this.client.reportMetrics, req);
  }

  /** Downloads a model and checks its bytes against the header's and the task's digest before returning them. */
  downloadModel(siteId: string, jobId: string, modelId: string, expectedSha256: string): Promise<{ header: ModelHeader; bytes: Buffer }> {
    return new Promise((resolve, reject) => {
      const stream = this.client.downloadModel({ siteId, jobId, modelId }, { deadline: Date.now() + 10 * 60_000 });
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
      stream.on('error', (err: grpc.ServiceError) => reject(fromServiceError(err)));
      stream.on('end', () => {
        if (!header) return reject(new MedfedError('MODEL_HEADER_MISSING', `model ${modelId} arrived without a header`));
        const bytes = Buffer.concat(parts, size);
        const digest = createHash('sha256').update(bytes).digest('hex');
        if (bytes.byteLength !== header.byteSize || digest !== header.sha256 || digest !== expectedSha256) {
          return reject(new MedfedError('MODEL_DIGEST_MISMATCH',
            `model ${modelId} bytes hash to ${digest}; the task announced ${expectedSha256}; refusing to load it`));
        }
        resolve({ header, bytes });
      });
    });
  }

  /** Streams an update as a header then bounded data chunks; resolves with the coordinator's receipt. */
  submitUpdate(header: Omit<UpdateHeader, 'byteSize' | 'sha256'>, payload: Uint8Array): Promise<SubmitUpdateResponse> {
    const sha256 = createHash('sha256').update(payload).digest('hex');
    return new Promise((resolve, reject) => {
      const call = this.client.submitUpdate({ deadline: Date.now() + 10 * 60_000 }, (err, res) =>
        err ? reject(fromServiceError(err)) : resolve(res));
      void (async () => {
        const write = async (msg: Parameters<typeof call.write>[0]) => {
          if (!call.write(msg)) await new Promise((r) => call.once('drain', r));
        };
        await write({ part: { $case: 'header', value: { ...header, byteSize: payload.byteLength, sha256 } } });
        for (const chunk of chunksOf(payload)) await write({ part: { $case: 'data', value: Buffer.from(chunk) } });
        call.end();
      })().catch(reject);
    });
  }
}
