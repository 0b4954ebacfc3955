import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import {
  MerkleLog,
  MemoryTreeStore,
  NOTE_KEY_TYPE,
  checkNoteSignatures,
  formatVerifierKey,
  noteSigner,
  noteVerifier,
  parseCheckpoint,
  parseNote,
  signNote,
  verifyConsistency,
  verifyInclusion,
  TlogError,
} from '../../src/tlog/index.js';

/**
 * Published test vectors. Each block names its source; the values are copied unchanged.
 */

// golang.org/x/mod sumdb/note/note_test.go (TestNewSigner, TestSign, TestOpen) and the package docs.
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const PETER_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG = '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG = '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

// c2sp.org/signed-note, section "Verifier keys / Example".
const C2SP_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
const C2SP_NOTE = 'This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';

// c2sp.org/tlog-checkpoint and c2sp.org/tlog-cosignature: the example checkpoint with a witness cosignature.
const C2SP_CHECKPOINT = [
  'example.com/behind-the-sofa',
  '20852163',
  'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=',
  '',
  '— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=',
  '— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==',
  '',
].join('\n');

// transparency-dev/formats note/note_cosigv1_test.go (TestCoSigV1NewVerifier): a published type 0x04 witness key.
const COSIGNER_VKEY = 'remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2';

// transparency-dev/merkle testonly/constants.go: leaves and RFC 6962 roots for sizes 0..8.
const RFC6962_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
const RFC6962_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

// transparency-dev/merkle testdata/{inclusion,consistency}: verification vectors with expected outcome.
interface InclusionVector { file: string; leafIdx: number; treeSize: number; root: string; leafHash: string; proof: string[] | null; wantErr: boolean }
interface ConsistencyVector { file: string; size1: number; size2: number; root1: string; root2: string; proof: string[] | null; wantErr: boolean }
const MERKLE_VECTORS = JSON.parse(readFileSync(new URL('./vectors/transparency-dev-merkle.json', import.meta.url), 'utf8')) as {
  inclusion: InclusionVector[];
  consistency: ConsistencyVector[];
};
const b64 = (s: string) => Buffer.from(s, 'base64');
/** Where medfed is deliberately stricter than the published expectation, and why. */
const STRICTER: Record<string, string> = {
  // The vector's "roots" are 12-byte placeholders; medfed refuses any root that is not 32 bytes.
  'consistency/additional/sizes-are-equal-one-and-proof-is-empty.json': 'TLOG_CONSISTENCY_INVALID',
};

describe('signed-note published examples', () => {
  it('reproduces the golang.org/x/mod note signature byte for byte from the published private key', async () => {
    const signer = noteSigner(PETER_SKEY);
    expect(formatVerifierKey(signer.name, NOTE_KEY_TYPE.ED25519, signer.publicKey)).toBe(PETER_VKEY);
    expect(await signNote(PETER_TEXT, [signer])).toBe(`${PETER_TEXT}\n${PETER_SIG}`);
  });

  it('opens the Go example note signed by two keys, verifying only the trusted one', () => {
    const note = parseNote(`${PETER_TEXT}\n${PETER_SIG}${ENOCH_SIG}`);
    expect(note.text).toBe(PETER_TEXT);
    const onlyPeter = checkNoteSignatures(note, [noteVerifier(PETER_VKEY)]);
    expect(onlyPeter.map((c) => [c.signature.name, c.valid])).toEqual([['PeterNeumann', true]]);
    const both = checkNoteSignatures(note, [noteVerifier(PETER_VKEY), noteVerifier(ENOCH_VKEY)]);
    expect(both.map((c) => [c.signature.name, c.signature.keyId.toString(16), c.valid])).toEqual([
      ['PeterNeumann', 'c74f20a3', true],
      ['EnochRoot', 'af0cfe78', true],
    ]);
  });

  it('detects the Go example signature with "ABCD" spliced in', () => {
    const note = parseNote(`${PETER_TEXT}\n${PETER_SIG.slice(0, 60)}ABCD${PETER_SIG.slice(60)}`);
    expect(checkNoteSignatures(note, [noteVerifier(PETER_VKEY)])[0]?.valid).toBe(false);
  });

  it('refuses the Go example malformed notes', () => {
    const bad = [
      PETER_TEXT,
      `${PETER_TEXT}\n`,
      `${PETER_TEXT}\n${PETER_SIG.slice(0, -1)}`,
      `\x01${PETER_TEXT}\n${PETER_SIG}`,
      `${PETER_TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=`,
      `${PETER_TEXT}\n${PETER_SIG}Unexpected line.\n`,
      `${PETER_TEXT}\n${PETER_SIG.repeat(101)}`,
    ];
    for (const note of bad) expect(() => parseNote(note)).toThrow(expect.objectContaining({ code: 'NOTE_MALFORMED' }));
  });

  it('refuses every substring and every single-byte change of the Go example verifier key', () => {
    expect(noteVerifier(PETER_VKEY).keyId).toBe(0xc74f20a3);
    const changed: string[] = [];
    for (let i = 0; i <= PETER_VKEY.length; i++) {
      for (let j = i + 1; j <= PETER_VKEY.length; j++) if (i !== 0 || j !== PETER_VKEY.length) changed.push(PETER_VKEY.slice(i, j));
    }
    for (let i = 0; i < PETER_VKEY.length; i++) {
      changed.push(PETER_VKEY.slice(0, i) + String.fromCharCode(PETER_VKEY.charCodeAt(i) + 1) + PETER_VKEY.slice(i + 1));
    }
    changed.push('PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==');
    changed.push('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW');
    const accepted = changed.filter((k) => {
      try {
        noteVerifier(k);
        return true;
      } catch (err) {
        expect((err as TlogError).code).toBe('NOTE_KEY_INVALID');
        return false;
      }
    });
    expect(accepted).toEqual([]);
  });

  it('verifies the c2sp.org/signed-note example with its published verifier key', () => {
    const checks = checkNoteSignatures(parseNote(C2SP_NOTE), [noteVerifier(C2SP_VKEY)]);
    expect(checks).toHaveLength(1);
    expect(checks[0]!.valid).toBe(true);
    const tampered = parseNote(C2SP_NOTE.replace('example message', 'exemple message'));
    expect(checkNoteSignatures(tampered, [noteVerifier(C2SP_VKEY)])[0]!.valid).toBe(false);
  });
});

describe('checkpoint and cosignature published examples', () => {
  it('parses the c2sp.org/tlog-checkpoint example body', () => {
    const note = parseNote(C2SP_CHECKPOINT);
    const cp = parseCheckpoint(note.text);
    expect(cp.origin).toBe('example.com/behind-the-sofa');
    expect(cp.size).toBe(20852163);
    expect(Buffer.from(cp.rootHash).toString('base64')).toBe('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=');
    expect(cp.extensions).toEqual([]);
  });

  it('reads the cosignature of the c2sp.org/tlog-cosignature example: key id, then the timestamp its text states', () => {
    const witness = parseNote(C2SP_CHECKPOINT).signatures.find((s) => s.name === 'witness.example.com/w1')!;
    expect(witness.keyId.toString(16)).toBe('8d66cf3f');
    expect(witness.signature).toHaveLength(8 + 64);
    // The spec's example signed message carries "time 1679315147".
    expect(Number(Buffer.from(witness.signature).readBigUInt64BE(0))).toBe(1679315147);
  });

  it('accepts the published cosignature/v1 verifier key: its key id is computed with type byte 0x04', () => {
    const v = noteVerifier(COSIGNER_VKEY);
    expect(v.type).toBe(NOTE_KEY_TYPE.COSIGNATURE_V1);
    expect(formatVerifierKey(v.name, NOTE_KEY_TYPE.COSIGNATURE_V1, v.publicKey)).toBe(COSIGNER_VKEY);
    // The same key under type 0x01 has another key id, so the published one would not match it.
    expect(formatVerifierKey(v.name, NOTE_KEY_TYPE.ED25519, v.publicKey)).not.toContain('+da77ade7+');
  });
});

describe('RFC 6962 published vectors', () => {
  it('computes the transparency-dev/merkle reference roots for sizes 0 to 8', async () => {
    const log = new MerkleLog(new MemoryTreeStore());
    expect(Buffer.from(await log.rootAt(0)).toString('hex')).toBe(RFC6962_ROOTS[0]);
    await log.append(RFC6962_LEAVES.map((h) => Buffer.from(h, 'hex')));
    for (let size = 0; size <= 8; size++) expect(Buffer.from(await log.rootAt(size)).toString('hex')).toBe(RFC6962_ROOTS[size]);
  });

  it.each(MERKLE_VECTORS.inclusion.map((v) => [v.file, v] as const))('inclusion %s', (_file, v) => {
    const run = () => verifyInclusion(v.leafIdx, v.treeSize, b64(v.leafHash), (v.proof ?? []).map(b64), b64(v.root));
    if (v.wantErr) expect(run).toThrow(TlogError);
    else expect(run).not.toThrow();
  });

  it.each(MERKLE_VECTORS.consistency.map((v) => [v.file, v] as const))('consistency %s', (_file, v) => {
    const run = () => verifyConsistency(v.size1, v.size2, (v.proof ?? []).map(b64), b64(v.root1), b64(v.root2));
    const stricter = STRICTER[v.file];
    if (stricter) expect(run).toThrow(expect.objectContaining({ code: stricter }));
    else if (v.wantErr) expect(run).toThrow(TlogError);
    else expect(run).not.toThrow();
  });
});
