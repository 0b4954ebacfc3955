import { createHash } from 'node:crypto';
import { cosignatureMessage, isCosignatureTimestamp } from './cosignature-message.js';
import { ED25519_KEY_SIZE, ED25519_SIGNATURE_SIZE, ed25519PrivateKey, ed25519PublicKey, ed25519PublicKeyBytes, ed25519Sign, ed25519Verify, generateEd25519Seed } from './ed25519.js';
import { fromBase64, toBase64 } from './encoding.js';
import { TlogError } from './errors.js';

/** Signature type bytes of c2sp.org/signed-note that medfed implements. */
export const NOTE_KEY_TYPE = {
  /** A log's checkpoint signature. */
  ED25519: 0x01,
  /** A witness's timestamped cosignature (c2sp.org/tlog-cosignature). */
  COSIGNATURE_V1: 0x04,
} as const;
export type NoteKeyType = (typeof NOTE_KEY_TYPE)[keyof typeof NOTE_KEY_TYPE];

/** Signs a note's text; returns the bytes that follow the 4-byte key id in the signature line. */
export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  readonly type: NoteKeyType;
  readonly publicKey: Uint8Array;
  sign(text: string): Promise<Uint8Array>;
}

export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  readonly type: NoteKeyType;
  readonly publicKey: Uint8Array;
  verify(text: string, signature: Uint8Array): boolean;
}

const COSIGNATURE_SIZE = 8 + ED25519_SIGNATURE_SIZE;

/** What differs between the two key types: how the text becomes a signature, and back. */
const KEY_TYPES: Record<NoteKeyType, {
  sign(seed: Uint8Array, text: string, now: () => number): Uint8Array;
  verify(publicKey: Uint8Array, text: string, signature: Uint8Array): boolean;
}> = {
  [NOTE_KEY_TYPE.ED25519]: {
    sign: (seed, text) => ed25519Sign(ed25519PrivateKey(seed), Buffer.from(text, 'utf8')),
    verify: (publicKey, text, signature) => ed25519Verify(ed25519PublicKey(publicKey), Buffer.from(text, 'utf8'), signature),
  },
  [NOTE_KEY_TYPE.COSIGNATURE_V1]: {
    sign(seed, text, now) {
      const timestamp = now();
      const out = Buffer.alloc(COSIGNATURE_SIZE);
      out.writeBigUInt64BE(BigInt(timestamp), 0);
      Buffer.from(ed25519Sign(ed25519PrivateKey(seed), cosignatureMessage(text, timestamp))).copy(out, 8);
      return out;
    },
    verify(publicKey, text, signature) {
      if (signature.length !== COSIGNATURE_SIZE) return false;
      const timestamp = Number(Buffer.from(signature).readBigUInt64BE(0));
      if (!isCosignatureTimestamp(timestamp)) return false;
      return ed25519Verify(ed25519PublicKey(publicKey), cosignatureMessage(text, timestamp), signature.subarray(8));
    },
  },
};

function isKeyType(t: number): t is NoteKeyType {
  return Object.hasOwn(KEY_TYPES, t);
}

/** Key names are non-empty and hold no Unicode space, no plus and no control character. */
export function isNoteKeyName(name: string): boolean {
  return /^[^\s+\p{Cc}]+$/u.test(name);
}

/** key ID = SHA-256(key name || 0x0A || signature type || public key)[:4], big-endian. */
export function noteKeyId(name: string, type: number, publicKey: Uint8Array): number {
  const digest = createHash('sha256').update(name, 'utf8').update(Buffer.from([0x0a, type])).update(publicKey).digest();
  return digest.readUInt32BE(0);
}

export function formatKeyId(keyId: number): string {
  return keyId.toString(16).padStart(8, '0');
}

/** `<name>+<hex key id>+<base64(type || public key)>` */
export function formatVerifierKey(name: string, type: NoteKeyType, publicKey: Uint8Array): string {
  return `${name}+${formatKeyId(noteKeyId(name, type, publicKey))}+${toBase64(Buffer.concat([Buffer.from([type]), publicKey]))}`;
}

interface ParsedKey {
  readonly name: string;
  readonly keyId: number;
  readonly type: NoteKeyType;
  readonly material: Uint8Array;
}

function parseKey(text: string, what: string, secret: boolean): ParsedKey {
  // A signer key is never echoed back: error messages end up in logs.
  const shown = secret ? '' : ` ${JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text)}`;
  const bad = (why: string): never => {
    throw new TlogError('NOTE_KEY_INVALID', `${what}${shown} is invalid: ${why}`);
  };
  // The base64 part may itself hold '+', so only the first two pluses separate fields.
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (first < 0 || second < 0) bad('expected <name>+<8 hex digits>+<base64 key>');
  const name = text.slice(0, first);
  const hexId = text.slice(first + 1, second);
  const b64 = text.slice(second + 1);
  if (!isNoteKeyName(name)) bad('the key name is empty or holds a space, plus or control character');
  if (!/^[0-9a-f]{8}$/.test(hexId)) bad('the key id must be 8 lowercase hex digits');
  const raw = fromBase64(b64);
  if (!raw || raw.length < 1) return bad('the key is not canonical base64');
  const type = raw[0]!;
  if (!isKeyType(type)) bad(`signature type 0x${type.toString(16).padStart(2, '0')} is not supported (0x01 Ed25519, 0x04 cosignature/v1)`);
  const material = raw.subarray(1);
  if (material.length !== ED25519_KEY_SIZE) bad(`an Ed25519 key is ${ED25519_KEY_SIZE} bytes, not ${material.length}`);
  return { name, keyId: Number.parseInt(hexId, 16), type: type as NoteKeyType, material };
}

/** Parses a verifier key and checks that its key id is the one its name, type and key give. */
export function noteVerifier(vkey: string): NoteVerifier {
  const k = parseKey(vkey.trim(), 'verifier key', false);
  if (noteKeyId(k.name, k.type, k.material) !== k.keyId) {
    throw new TlogError('NOTE_KEY_INVALID', `verifier key for ${k.name}: key id ${formatKeyId(k.keyId)} does not match the key (expected ${formatKeyId(noteKeyId(k.name, k.type, k.material))})`);
  }
  const impl = KEY_TYPES[k.type];
  return { name: k.name, keyId: k.keyId, type: k.type, publicKey: k.material, verify: (text, sig) => impl.verify(k.material, text, sig) };
}

/** Parses `PRIVATE+KEY+<name>+<hex key id>+<base64(type || 32-byte seed)>` (the golang.org/x/mod/sumdb/note format). */
export function noteSigner(skey: string, options: { now?: () => number } = {}): NoteSigner {
  const text = skey.trim();
  if (!text.startsWith('PRIVATE+KEY+')) throw new TlogError('NOTE_KEY_INVALID', 'a signer key starts with PRIVATE+KEY+');
  const k = parseKey(text.slice('PRIVATE+KEY+'.length), 'signer key', true);
  const publicKey = ed25519PublicKeyBytes(ed25519PrivateKey(k.material));
  if (noteKeyId(k.name, k.type, publicKey) !== k.keyId) {
    throw new TlogError('NOTE_KEY_INVALID', `signer key for ${k.name}: key id ${formatKeyId(k.keyId)} does not match the key`);
  }
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const impl = KEY_TYPES[k.type];
  const seed = k.material;
  return { name: k.name, keyId: k.keyId, type: k.type, publicKey, sign: async (t) => impl.sign(seed, t, now) };
}

export function formatSignerKey(name: string, type: NoteKeyType, seed: Uint8Array): string {
  const publicKey = ed25519PublicKeyBytes(ed25519PrivateKey(seed));
  return `PRIVATE+KEY+${name}+${formatKeyId(noteKeyId(name, type, publicKey))}+${toBase64(Buffer.concat([Buffer.from([type]), seed]))}`;
}

/** A fresh key pair for a log (type 0x01) or a witness (type 0x04), as signer and verifier key strings. */
export function generateNoteKey(name: string, type: NoteKeyType = NOTE_KEY_TYPE.ED25519): { signerKey: string; verifierKey: string } {
  if (!isNoteKeyName(name)) throw new TlogError('NOTE_KEY_INVALID', `key name ${JSON.stringify(name)} is empty or holds a space, plus or control character`);
  const seed = generateEd25519Seed();
  const publicKey = ed25519PublicKeyBytes(ed25519PrivateKey(seed));
  return { signerKey: formatSignerKey(name, type, seed), verifierKey: formatVerifierKey(name, type, publicKey) };
}

