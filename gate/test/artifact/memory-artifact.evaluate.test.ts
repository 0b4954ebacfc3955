import { afterAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { evaluateGate, loadPolicy, MODEL_POLICY_PATH, readArtifact, type GateDecision } from '../../src/index.js';
import { makeTree, removeTrees } from '../support/fixture-tree.js';

afterAll(removeTrees);

const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');
const model = Buffer.from(Float32Array.from([0.5, -1.25, 3]).buffer);
const manifest = 'eyJhbGciOiJFZERTQSJ9.eyJraW5kIjoiZ2xvYmFsLW1vZGVsIn0.c2ln';
const files = (extra: Record<string, string | Buffer> = {}) =>
  [['model.bin', model] as const, ['manifest.jws', manifest] as const, ...Object.entries(extra)].map(([path, body]) => ({ path, bytes: Buffer.from(body) }));
const live = (d: GateDecision) => d.triggers.filter((t) => !t.exemptedBy).map((t) => `${t.action} ${t.gate}/${t.trigger}`);

describe('in-memory artifacts (a model and its manifest, never written to disk)', () => {
  it('have exactly the digest and entries of the same files in a directory', async () => {
    const root = await makeTree({ 'model.bin': model, 'manifest.jws': manifest, 'nested/x.txt': 'x' });
    const onDisk = await readArtifact(root);
    const inMemory = await readArtifact({ files: files({ 'nested/x.txt': 'x' }) });
    expect(inMemory.digest).toBe(onDisk.digest);
    expect(inMemory.kind).toBe('directory');
    expect(inMemory.entries.map((e) => [e.path, e.kind, e.size])).toEqual(onDisk.entries.map((e) => [e.path, e.kind, e.size]));
  });

  it('refuse paths that would escape or make the digest ambiguous, and duplicates', async () => {
    for (const path of ['../model.bin', '/etc/passwd', 'a//b', 'a/./b', 'line\nbreak', 'back\\slash', '']) {
      await expect(readArtifact({ files: [{ path, bytes: Buffer.from('x') }] })).rejects.toMatchObject({ code: 'GATE_ARTIFACT_UNSUPPORTED_ENTRY' });
    }
    await expect(readArtifact({ files: [...files(), ...files()] })).rejects.toMatchObject({ code: 'GATE_ARTIFACT_UNSUPPORTED_ENTRY' });
  });
});

describe('a signature verified by the caller (the model manifest JWS over the blob SHA-256)', () => {
  it('satisfies the signature gate only for a file of the artifact, byte for byte', async () => {
    const policy = await loadPolicy(MODEL_POLICY_PATH);
    const signed = await evaluateGate({ policy, env: 'prod', artifact: { files: files() }, verifiedSignature: { subjectDigest: `sha256:${sha256(model)}`, keyFingerprint: 'manifest key k1' } });
    expect(signed.decision).toBe('allow');
    expect(live(signed)).toEqual([]);

    const other = await evaluateGate({ policy, env: 'prod', artifact: { files: files() }, verifiedSignature: { subjectDigest: `sha256:${sha256('other bytes')}`, keyFingerprint: 'manifest key k1' } });
    expect(other.decision).toBe('stop');
    expect(live(other)).toEqual(['stop signature/invalid']);

    const unsigned = await evaluateGate({ policy, env: 'prod', artifact: { files: files() } });
    expect(live(unsigned)).toEqual(['stop signature/missing']);
    // In dev the shipped model policy does not ask for a signature.
    expect((await evaluateGate({ policy, env: 'dev', artifact: { files: files() } })).decision).toBe('allow');
  });

  it('is refused as an input when a signature to check is given as well, or its subject is not a digest', async () => {
    const both = await evaluateGate({
      env: 'prod', artifact: { files: files() }, signature: Buffer.from('AAAA'), trustedKeys: [],
      verifiedSignature: { subjectDigest: `sha256:${sha256(model)}`, keyFingerprint: 'k' },
    });
    expect(both.triggers.find((t) => t.gate === 'input')).toMatchObject({ trigger: 'signature', code: 'GATE_USAGE', action: 'stop' });
    const bad = await evaluateGate({ env: 'prod', artifact: { files: files() }, verifiedSignature: { subjectDigest: sha256(model), keyFingerprint: 'k' } });
    expect(bad.triggers.find((t) => t.gate === 'input')).toMatchObject({ trigger: 'signature', code: 'GATE_DIGEST_INVALID' });
  });

  it('does not hide what the content gates find: a crafted model artifact with a credential file stops in prod', async () => {
    const crafted = await evaluateGate({
      policy: MODEL_POLICY_PATH, env: 'prod', artifact: { files: files({ '.env': 'DB_PASSWORD=hunter2-very-secret\n' }) },
      verifiedSignature: { subjectDigest: `sha256:${sha256(model)}`, keyFingerprint: 'manifest key k1' },
    });
    expect(crafted.decision).toBe('stop');
    expect(live(crafted)).toEqual(expect.arrayContaining(['stop sensitive_files/file_name', 'stop sensitive_files/content']));
  });
});
