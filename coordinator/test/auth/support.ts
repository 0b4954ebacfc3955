import { createHmac, createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { FederationClient, UpdateHeader } from '@medfed/proto';
import { createDpopProof, grpcHtu, publicJwkOf, type PublicJwk } from '@medfed/proto/auth/index';
import { CoordinatorClient } from '@medfed/node-agent/transport/client';
import { versionNegotiation } from '@medfed/node-agent/transport/version-negotiation';
import { enrollAgent, loadAgentIdentity, type AgentIdentity, type AgentKey } from '@medfed/node-agent/identity/index';
import type { RunningCoordinator } from '@medfed/coordinator';

/** Helpers for tests that exercise credentials against a real coordinator on loopback. */

export interface EnrolledNode {
  readonly siteId: string;
  readonly stateDir: string;
  readonly identity: AgentIdentity;
  readonly key: AgentKey;
  readonly client: CoordinatorClient;
  /** A fresh access token for this node (from IssueToken, through the agent's own credentials code). */
  token(): Promise<string>;
}

/** Enrolls a node for `siteId` through the real EnrollKey RPC, as `medfed agent enroll` does. */
export async function enrollNode(c: RunningCoordinator, siteId: string): Promise<EnrolledNode> {
  const { code } = await c.auth.createEnrollmentCode(siteId, 'test');
  const stateDir = await mkdtemp(join(tmpdir(), `medfed-node-${siteId}-`));
  await enrollAgent({ coordinator: c.grpc, channelCredentials: grpc.credentials.createInsecure(), siteId, code, stateDir, agentVersion: 'test' });
  const { identity, key } = await loadAgentIdentity(stateDir);
  const client = new CoordinatorClient(c.grpc, grpc.credentials.createInsecure(), { identity, key });
  return {
    siteId, stateDir, identity, key, client,
    async token() {
      client.credentials!.invalidate();
      const md = await client.credentials!.metadataFor('/medfed.v1.Federation/PollTask');
      return String(md.get('authorization')[0]).replace(/^DPoP /, '');
    },
  };
}

/** The coordinator's active token signing key, read from its key file (to forge tokens signed with the real key). */
export async function realSigningKey(c: RunningCoordinator, dataDir: string): Promise<{ kid: string; privateKey: KeyObject; publicJwk: PublicJwk; publicPem: string }> {
  const { kid } = c.auth.keys.active();
  const file = JSON.parse(await readFile(join(dataDir, 'keys', 'token-signing', `${kid}.json`), 'utf8')) as { privateJwk: Record<string, string> };
  const { kty, crv, d, x } = file.privateJwk;
  const privateKey = createPrivateKey({ key: { kty: kty!, crv: crv!, d: d!, x: x! }, format: 'jwk' });
  const publicJwk = publicJwkOf(privateKey);
  return { kid, privateKey, publicJwk, publicPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString() };
}

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** How a forged JWS is signed. */
export type Signing =
  | { readonly key: KeyObject }
  | { readonly hmac: string | Buffer }
  | { readonly signature: string };

/** Builds a compact JWS with exactly the header given (alg included) and the chosen signature. */
export function forgeJws(header: Record<string, unknown>, claims: Record<string, unknown>, signing: Signing): string {
  const input = `${b64(header)}.${b64(claims)}`;
  if ('signature' in signing) return `${input}.${signing.signature}`;
  if ('hmac' in signing) return `${input}.${createHmac('sha256', signing.hmac).update(input).digest('base64url')}`;
  const sig = signing.key.asymmetricKeyType === 'ed25519'
    ? sign(null, Buffer.from(input), signing.key)
    : sign('sha256', Buffer.from(input), { key: signing.key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** A DPoP proof by `key` for an HTTP method and URL (or a gRPC call: POST and its htu). */
export function proofFor(key: AgentKey, htm: string, htu: string, accessToken?: string, now?: number): string {
  return createDpopProof({ privateKey: key.privateKey, publicJwk: key.publicJwk, htm, htu, ...(accessToken !== undefined ? { accessToken } : {}), ...(now !== undefined ? { now } : {}) });
}

export function grpcMethodHtu(c: RunningCoordinator, method: string): string {
  return grpcHtu(c.grpc, `/medfed.v1.Federation/${method}`);
}

export interface RestResult {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export async function rest(c: RunningCoordinator, method: string, path: string, options: { headers?: Record<string, string>; body?: unknown } = {}): Promise<RestResult> {
  const res = await fetch(`${c.rest}${path}`, {
    method,
    headers: { ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export interface GrpcResult {
  /** The medfed code of a refusal (the `medfed-code` trailer), or OK. */
  readonly code: string;
  readonly status: number;
  readonly details: string;
  readonly response?: unknown;
}

function resultOf(err: grpc.ServiceError | null, response?: unknown): GrpcResult {
  if (!err) return { code: 'OK', status: 0, details: '', response };
  return { code: String(err.metadata?.get('medfed-code')[0] ?? `GRPC_${err.code}`), status: err.code, details: err.details };
}

/** One unary call on a raw client, with exactly the metadata given (and the agent's version announcement, unless given). */
export function grpcUnary(c: RunningCoordinator, method: 'pollTask' | 'issueToken' | 'enrollKey' | 'heartbeat' | 'rotateKey' | 'reportMetrics',
  request: unknown, metadata: Record<string, string>): Promise<GrpcResult> {
  const client = new FederationClient(c.grpc, grpc.credentials.createInsecure(), { interceptors: [versionNegotiation()] });
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise((resolve) => {
    (client[method] as unknown as (r: unknown, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: unknown) => void) => void)
      .call(client, request, md, { deadline: Date.now() + 60_000 }, (err, res) => {
        client.close();
        resolve(resultOf(err, res));
      });
  });
}

/** Opens SubmitUpdate with `metadata` (and the agent's version announcement, unless given) and sends a header naming `siteId`; returns how the call ended. */
export function grpcSubmitHeader(c: RunningCoordinator, metadata: Record<string, string>, header: Record<string, unknown>, holdMs = 0): Promise<GrpcResult> {
  const client = new FederationClient(c.grpc, grpc.credentials.createInsecure(), { interceptors: [versionNegotiation()] });
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise((resolve) => {
    const call = client.submitUpdate(md, { deadline: Date.now() + 60_000 }, (err, res) => {
      client.close();
      resolve(resultOf(err, res));
    });
    call.write({ part: { $case: 'header', value: UpdateHeader.fromPartial({ jobId: 'job-x', round: 1, submissionId: 's-1', numSamples: 1, byteSize: 8, sha256: '0'.repeat(64), baseModelId: 'm', siteId: '', ...header }) } });
    if (holdMs === 0) call.end();
    else setTimeout(() => call.end(), holdMs);
  });
}

/** A person's Bearer token for a new API key of `role`. */
export async function personToken(c: RunningCoordinator, role: string, site?: string): Promise<{ token: string; keyId: string; apiKey: string }> {
  const created = await c.auth.createApiKey({ name: `test ${role}`, role, ...(site ? { site } : {}), createdBy: 'test' });
  const issued = await c.auth.loginWithApiKey(created.key);
  return { token: issued.token, keyId: created.id, apiKey: created.key };
}
