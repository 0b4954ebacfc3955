import { StrategyError } from './errors.js';

/**
 * A strategy's server state between rounds (momentum, second moments, running powers of beta),
 * all float32 so that every site and the coordinator hold the same bits. Kept by whoever applies
 * the server step: the coordinator's blob store on plaintext jobs, each site's state dir on
 * encrypted ones (where it is rebuilt by replaying the chain of decrypted sums).
 */
export interface ServerState {
  readonly vectors: Readonly<Record<string, Float32Array>>;
  readonly scalars: Readonly<Record<string, number>>;
}

const FORMAT = 'medfed-server-state/1';
const MAX_HEADER = 64 * 1024;

/** Deterministic bytes: a length-prefixed JSON header with sorted names, then each vector as float32 LE. */
export function encodeServerState(state: ServerState): Buffer {
  const names = Object.keys(state.vectors).sort();
  const scalars = Object.fromEntries(Object.keys(state.scalars).sort().map((k) => [k, state.scalars[k]!]));
  const header = Buffer.from(JSON.stringify({ format: FORMAT, scalars, vectors: names.map((n) => [n, state.vectors[n]!.length]) }));
  const body = names.reduce((s, n) => s + state.vectors[n]!.length * 4, 0);
  const out = Buffer.alloc(4 + header.length + body);
  out.writeUInt32LE(header.length, 0);
  header.copy(out, 4);
  let offset = 4 + header.length;
  for (const n of names) {
    for (const v of state.vectors[n]!) { out.writeFloatLE(v, offset); offset += 4; }
  }
  return out;
}

export function decodeServerState(bytes: Uint8Array): ServerState {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (why: string): never => { throw new StrategyError('STRATEGY_SETTINGS_INVALID', `server state: ${why}`); };
  if (buf.length < 4) fail('too short');
  const headerLength = buf.readUInt32LE(0);
  if (headerLength > MAX_HEADER || 4 + headerLength > buf.length) fail('header length out of range');
  let header: { format?: unknown; scalars?: unknown; vectors?: unknown };
  try {
    header = JSON.parse(buf.subarray(4, 4 + headerLength).toString('utf8')) as typeof header;
  } catch {
    return fail('header is not JSON');
  }
  if (header.format !== FORMAT || typeof header.scalars !== 'object' || header.scalars === null || !Array.isArray(header.vectors)) fail('unknown format');
  const scalars: Record<string, number> = {};
  for (const [k, v] of Object.entries(header.scalars as Record<string, unknown>)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`scalar ${k} is not a finite number`);
    scalars[k] = v as number;
  }
  const vectors: Record<string, Float32Array> = {};
  let offset = 4 + headerLength;
  for (const entry of header.vectors as unknown[]) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || !Number.isSafeInteger(entry[1]) || (entry[1] as number) < 0) fail('bad vector entry');
    const [name, length] = entry as [string, number];
    if (offset + length * 4 > buf.length) fail(`vector ${name} runs past the end`);
    const v = new Float32Array(length);
    for (let i = 0; i < length; i++) v[i] = buf.readFloatLE(offset + 4 * i);
    vectors[name] = v;
    offset += length * 4;
  }
  if (offset !== buf.length) fail('trailing bytes');
  return { vectors, scalars };
}

/** A vector of the state, or zeros of `length` before the first round. */
export function stateVector(state: ServerState | null, name: string, length: number): Float32Array {
  const v = state?.vectors[name];
  if (v === undefined) return new Float32Array(length);
  if (v.length !== length) throw new StrategyError('STRATEGY_SETTINGS_INVALID', `server state vector ${name} has ${v.length} values, the model ${length}`);
  return v;
}

export function stateScalar(state: ServerState | null, name: string, initial: number): number {
  return state?.scalars[name] ?? initial;
}
