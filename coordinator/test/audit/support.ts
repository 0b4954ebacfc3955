import { createHash } from 'node:crypto';
import { CompactSign, exportJWK, generateKeyPair, type JSONWebKeySet } from 'jose';
import type { AuditEventInput, JwsSigner } from '@medfed/proto/audit/index';

export const T0 = Date.parse('2025-03-01T08:00:00.000Z');

/** A varied, valid event for position i: several jobs, sites, denials, releases and spends. */
export function sampleEvent(i: number, overrides: Partial<AuditEventInput> = {}): AuditEventInput {
  const job = i % 3 === 0 ? 'j-1' : 'j-2';
  const site = (['site-a', 'site-b', 'site-c'] as const)[i % 3]!;
  const kinds: AuditEventInput[] = [
    { actor: `site:${site}`, role: 'site', site, action: 'submission.receive', resource: `job:${job}/round:${i}`, outcome: 'success', rule: 'policy:enrolled-site', details: { job, round: i, sha256: createHash('sha256').update(String(i)).digest('hex'), bytes: 1024 + i } },
    { actor: 'user:mallory@example', role: 'researcher', site: null, action: 'model.download', resource: 'model:m-1', outcome: 'denied', rule: 'rbac:release-required', details: { job, model: 'm-1', reason: 'MODEL_NOT_RELEASED' } },
    { actor: 'system:coordinator', role: 'system', site, action: 'privacy.spend', resource: `job:${job}`, outcome: 'success', rule: 'dp:budget', details: { job, epsilon: 0.25, delta: 0.000001, epsilon_remaining: 4 } },
    { actor: 'user:alice@hospital-a', role: 'researcher', site: null, action: 'model.release', resource: 'model:m-2', outcome: 'success', rule: 'rbac:owner/model.release', details: { job, model: 'm-2', sha256: 'cd'.repeat(32) } },
    { actor: `site:${site}`, role: 'site', site, action: 'attestation.verdict', resource: `site:${site}`, outcome: 'success', rule: 'attestation:policy-v1', details: { verdict: i % 10 === 4 ? 'fail' : 'pass' } },
  ];
  return { ...kinds[i % kinds.length]!, time: new Date(T0 + i * 1000).toISOString(), request_id: `req-${i}`, ...overrides };
}

export interface TestSigner {
  readonly sign: JwsSigner;
  readonly jwks: JSONWebKeySet;
}

/** A real ES256 key pair: signatures in the tests are genuine. */
export async function testSigner(kid = 'coordinator-test'): Promise<TestSigner> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const pub = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return { sign: (payload) => new CompactSign(payload).setProtectedHeader({ alg: 'ES256', kid }).sign(privateKey), jwks: { keys: [pub] } };
}

/** An append-only list standing in for the transparency log: leaves by index, checkpoint = size + root of leaf hashes. */
export function memoryLog() {
  const leaves: Buffer[] = [];
  const checkpoint = () => ({ size: leaves.length, root: createHash('sha256').update(Buffer.concat(leaves.map((l) => createHash('sha256').update(l).digest()))).digest('hex') });
  return {
    leaves,
    appendLeaf: async (leaf: Uint8Array) => {
      leaves.push(Buffer.from(leaf));
      return { index: leaves.length - 1, checkpoint: JSON.stringify(checkpoint()) };
    },
    checkpoint,
  };
}
