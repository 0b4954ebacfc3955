import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Command } from 'commander';
import { writeModelBundle } from '@medfed/proto/bundle/index';
import { ed25519Signer, generateManifestKeyPair, signManifest, type ManifestJwks } from '@medfed/proto/manifest/index';
import { MemoryTreeStore, MerkleLog, NOTE_KEY_TYPE, Witness, generateNoteKey, noteSigner, signCheckpoint, toHex } from '@medfed/proto/tlog/index';
import { register, type ModelIo } from '../../src/commands/model.js';

interface Run { code: number; stdout: string; stderr: string }

async function medfed(args: readonly string[]): Promise<Run> {
  const run: Run = { code: -1, stdout: '', stderr: '' };
  const io: ModelIo = { stdout: (t) => void (run.stdout += t), stderr: (t) => void (run.stderr += t), exit: (c) => void (run.code = c) };
  const program = new Command('medfed').exitOverride();
  program.configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  register(program, io);
  try {
    await program.parseAsync(['node', 'medfed', ...args]);
  } catch {
    // commander's own refusals already set the code through exitOverride
  }
  return run;
}

const ORIGIN = 'coordinator.cli-test/log';
let work: string;
let bundle: string;
const files: Record<string, string> = {};

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'medfed-model-cli-'));
  bundle = join(work, 'bundle');
  const keys = await generateManifestKeyPair('coordinator-cli');
  const logKey = generateNoteKey(ORIGIN);
  const witnessKey = generateNoteKey('witness.cli-test/w1', NOTE_KEY_TYPE.COSIGNATURE_V1);
  const witness = new Witness({ signer: witnessKey.signerKey, logs: [logKey.verifierKey] });
  const log = new MerkleLog(new MemoryTreeStore());
  await log.append([Buffer.from('earlier leaf')]);
  const sign = async () => {
    const head = await log.head();
    return signCheckpoint({ origin: ORIGIN, size: head.size, rootHash: head.rootHash, extensions: [] }, noteSigner(logKey.signerKey));
  };
  const previous = await sign();
  const model = Buffer.from('model weights, round 4');
  const jws = await signManifest({
    version: 1, kind: 'global-model', job: 'job-cli', round: 4,
    blobs: [{ name: 'model.bin', sha256: createHash('sha256').update(model).digest('hex'), size: model.length }],
    previousManifest: null, contributors: [], paramsDigest: null, policyVersion: '1', issuedAt: '2025-06-01T00:00:00Z',
  }, await ed25519Signer(keys.privateJwk));
  const { firstIndex } = await log.append([Buffer.from(jws)]);
  const checkpoint = await witness.cosign(await sign(), []);
  const jwks: ManifestJwks = { keys: [keys.publicJwk] };
  await writeModelBundle(bundle, {
    model, manifestJws: jws, checkpoint, jwks, checkpointVerifierKey: logKey.verifierKey,
    inclusionProof: { leafIndex: firstIndex, treeSize: 2, hashes: await log.inclusionProof(firstIndex) },
  });
  const put = async (name: string, content: string) => {
    files[name] = join(work, name);
    await writeFile(files[name]!, content);
  };
  await put('jwks.json', JSON.stringify(jwks));
  await put('log.vkey', `${logKey.verifierKey}\n`);
  await put('witness.vkey', `${witness.verifierKey}\n`);
  await put('previous.txt', previous);
  await put('consistency.json', JSON.stringify((await log.consistencyProof(1, 2)).map(toHex)));
  await put('other-log.vkey', generateNoteKey(ORIGIN).verifierKey);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('medfed model verify', () => {
  it('verifies a bundle with pinned anchors, a witness and the previous checkpoint (exit 0)', async () => {
    const r = await medfed(['model', 'verify', bundle, '--job', 'job-cli', '--round', '4', '--jwks', files['jwks.json']!, '--log-key', files['log.vkey']!,
      '--require-cosignatures', '1', '--witness-key', files['witness.vkey']!, '--previous-checkpoint', files['previous.txt']!, '--consistency-proof', files['consistency.json']!, '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ ok: true, job: 'job-cli', round: 4, jobRoundChecked: true, leafIndex: 1, anchors: { manifestKeys: 'pinned', logKey: 'pinned' } });
    expect(out.cosigners.map((c: { witness: string }) => c.witness)).toEqual(['witness.cli-test/w1']);
  });

  it('refuses a replayed older round with exit 7 and names the check', async () => {
    const r = await medfed(['model', 'verify', bundle, '--job', 'job-cli', '--round', '5']);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('MANIFEST_STALE_ROUND');
  });

  it('refuses a bundle whose log key is not the pinned one (exit 7, JSON)', async () => {
    const r = await medfed(['model', 'verify', bundle, '--job', 'job-cli', '--round', '4', '--log-key', files['other-log.vkey']!, '--json']);
    expect(r.code).toBe(7);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, code: 'CHECKPOINT_SIGNATURE_INVALID' });
  });

  it('fails closed (exit 9, origin unverified) when trust anchors come from the bundle and job and round were not given', async () => {
    const r = await medfed(['model', 'verify', bundle]);
    expect(r.code).toBe(9);
    expect(r.stderr).toContain('origin unverified');
    expect(r.stdout).toContain('NOT checked');
    expect(r.stderr).toContain('pin them with --trust DIR');
  });

  it.each([
    [['--job', 'job-cli'], '--job and --round go together'],
    [['--job', 'job-cli', '--round', 'four'], '--round must be a non-negative integer'],
    [['--require-cosignatures', '2'], 'needs at least 2 --witness-key'],
    [['--consistency-proof', 'x.json'], '--consistency-proof needs --previous-checkpoint'],
  ])('refuses bad usage %j with exit 2', async (extra, message) => {
    const r = await medfed(['model', 'verify', bundle, ...extra]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it('exits 3 when a pinned key file cannot be read', async () => {
    const r = await medfed(['model', 'verify', bundle, '--jwks', join(work, 'absent.json')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('--jwks');
  });

  it('exits 7 with BUNDLE_FILE_MISSING for a directory that is not a bundle', async () => {
    const r = await medfed(['model', 'verify', work, '--job', 'job-cli', '--round', '4']);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('BUNDLE_FILE_MISSING');
  });

  it('prints help', async () => {
    const r = await medfed(['model', 'verify', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--require-cosignatures <k>');
    expect(r.stdout).toContain('--witness-key <file>');
  });
});
