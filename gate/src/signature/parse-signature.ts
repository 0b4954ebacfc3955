import { GateError } from '../errors.js';

const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const MAX_SIGNATURE_BYTES = 1024;

/**
 * Reads a signature file: base64 of the raw signature (what `cosign sign-blob --output-signature`
 * writes), or a cosign bundle JSON holding `base64Signature`. Whitespace around it is ignored.
 */
export function parseSignature(bytes: Uint8Array, what = 'signature'): Buffer {
  const text = Buffer.from(bytes).toString('utf8').trim();
  const encoded = text.startsWith('{') ? bundleSignature(text, what) : text;
  const compact = encoded.replace(/\s+/g, '');
  if (compact === '' || !BASE64.test(compact) || compact.length > (MAX_SIGNATURE_BYTES * 4) / 3 + 4) {
    throw new GateError('GATE_SIGNATURE_MALFORMED', `${what}: not base64 of a signature (expected the output of cosign sign-blob or medfed gate sign)`);
  }
  const signature = Buffer.from(compact, compact.includes('-') || compact.includes('_') ? 'base64url' : 'base64');
  if (signature.length === 0) throw new GateError('GATE_SIGNATURE_MALFORMED', `${what}: decodes to no bytes`);
  return signature;
}

function bundleSignature(text: string, what: string): string {
  let bundle: unknown;
  try {
    bundle = JSON.parse(text);
  } catch (error) {
    throw new GateError('GATE_SIGNATURE_MALFORMED', `${what}: looks like a cosign bundle but is not JSON (${(error as Error).message})`);
  }
  const value = (bundle as { base64Signature?: unknown } | null)?.base64Signature;
  if (typeof value !== 'string') throw new GateError('GATE_SIGNATURE_MALFORMED', `${what}: the bundle has no base64Signature string`);
  return value;
}
