/**
 * HE aggregation kernels against their plaintext baseline, for one model size and site count.
 *
 *   node bench/he-kernels.ts [--params 1000000] [--sites 10] [--param-set bfv-n4096-q60-t48-2x23] [--json]
 *
 * Measures, single-threaded (so per core): the site's encryption of its update (quantise, encode,
 * seeded secret-key encryption, wire packing), the coordinator's ingest of every site's upload
 * from wire bytes (decode, validation, SEAL load with seed expansion, addition), the saved
 * accumulator state, and a key holder's decryption. The baseline is the plaintext path for the
 * same data: float32 serialisation at the site, deserialisation with finiteness check and a
 * float64 running sum at the coordinator. Exported so bench/he.ts can reuse the measurements.
 *
 * Rates are given per CPU-second of the measuring thread (process.threadCpuUsage), which is the
 * per-core figure even when other work shares the machine, and per wall-clock second.
 */
import {
  EncryptedAccumulator, decodeEncryptedVector, decryptAggregate, encodeEncryptedVector, encryptUpdate, generateKeys, heContext, vectorHeader,
  type HeContext, type HeSecretKey, type HeVectorHeader,
} from '@medfed/proto/he/index';

export interface HeKernelOptions {
  readonly params: number;
  readonly sites: number;
  readonly paramSetId: string;
  readonly clip: number;
  /** Defaults to the largest fracBits the parameter set's lanes allow for clip and maxSites. */
  readonly fracBits?: number;
  readonly maxSites: number;
}

export const DEFAULT_HE_KERNEL_OPTIONS: HeKernelOptions = { params: 1_000_000, sites: 10, paramSetId: 'bfv-n4096-q60-t48-2x23', clip: 1, maxSites: 16 };

/** Deterministic pseudo-random updates in [-clip, clip] (xorshift32; no dependence on Math.random). */
export function makeSiteUpdates(params: number, sites: number, clip: number, seed = 12345): Float32Array[] {
  let state = seed >>> 0 || 1;
  const next = (): number => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return state / 4294967296;
  };
  return Array.from({ length: sites }, () => {
    const u = new Float32Array(params);
    for (let i = 0; i < params; i++) u[i] = (next() * 2 - 1) * clip;
    return u;
  });
}

/** Largest fracBits with maxSites·ceil(clip·2^f) within a lane and maxSites·2^f within a slot (see docs/crypto.md). */
export function maxFracBits(context: HeContext, clip: number, maxSites: number): number {
  const limit = 2 ** (context.paramSet.laneBits - 1) - 1;
  let f = 0;
  const slotLimit = (context.plainModulus - 1) / 2;
  while (maxSites * Math.ceil(clip * 2 ** (f + 1)) <= limit && maxSites * 2 ** (f + 1) <= slotLimit) f++;
  return f;
}

/** Wall-clock and this thread's CPU time of a synchronous call. */
export interface Timing { readonly wallSeconds: number; readonly cpuSeconds: number }

/**
 * Times `fn`, repeating it until at least `minSeconds` of wall time have passed (the thread CPU
 * clock is only updated every few milliseconds, so short calls are averaged over repetitions).
 */
export function timed<T>(fn: () => T, minSeconds = 0): { result: T } & Timing {
  const wall = process.hrtime.bigint();
  const cpu = process.threadCpuUsage();
  let runs = 0;
  let result: T;
  let elapsed: number;
  do {
    result = fn();
    runs++;
    elapsed = Number(process.hrtime.bigint() - wall) / 1e9;
  } while (elapsed < minSeconds);
  const used = process.threadCpuUsage(cpu);
  return { result, wallSeconds: elapsed / runs, cpuSeconds: (used.user + used.system) / 1e6 / runs };
}

const SHORT = 0.3;

export interface SiteEncryptResult extends Timing { readonly uploadBytes: number; readonly upload: Uint8Array }

/** One site: encryptUpdate plus wire encoding of the whole upload. */
export function measureSiteEncrypt(context: HeContext, key: HeSecretKey, update: Float32Array, options: { weight: number; clip: number; fracBits: number; maxSites: number }): SiteEncryptResult {
  const { result: upload, ...timing } = timed(() => encodeEncryptedVector(encryptUpdate(context, key, update, options)));
  return { ...timing, uploadBytes: upload.byteLength, upload };
}

export interface AggregateResult {
  /** Decode, validation, SEAL load and addition of every upload. */
  readonly ingest: Timing;
  /** accumulator.save(): the state persisted with the contribution record. */
  readonly save: Timing;
  readonly stateBytes: number;
  readonly sum: Uint8Array;
}

/** The coordinator: every upload from wire bytes into one accumulator, then save and finish. */
export function measureCoordinatorAggregate(context: HeContext, header: HeVectorHeader, uploads: readonly Uint8Array[]): AggregateResult {
  const accumulator = EncryptedAccumulator.create(context, header);
  try {
    const { result: _, ...ingest } = timed(() => uploads.forEach((bytes, i) => accumulator.addVector(`site-${i}`, decodeEncryptedVector(context, bytes))));
    const { result: state, ...save } = timed(() => accumulator.save(), SHORT);
    const sum = accumulator.finish({ minContributors: Math.min(3, uploads.length) });
    return { ingest, save, stateBytes: state.byteLength, sum };
  } finally {
    accumulator.dispose();
  }
}

export interface PlaintextResult { readonly site: Timing; readonly aggregate: Timing; readonly uploadBytes: number }

/**
 * The plaintext path for the same updates: each site serialises float32 little-endian bytes; the
 * coordinator copies each upload out of its buffer, checks every value is finite and adds w·u into
 * a float64 sum.
 */
export function measurePlaintextBaseline(updates: readonly Float32Array[], weights: readonly number[]): PlaintextResult {
  const { result: uploads, ...site } = timed(() => updates.map((u) => new Uint8Array(u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength))), SHORT);
  const params = updates[0]!.length;
  const { result: _, ...aggregate } = timed(() => {
    const sum = new Float64Array(params);
    uploads.forEach((bytes, s) => {
      const copy = new Float32Array(bytes.slice().buffer);
      const w = weights[s]!;
      for (let i = 0; i < params; i++) {
        const v = copy[i]!;
        if (!Number.isFinite(v)) throw new Error(`value ${i} is not finite`);
        sum[i]! += w * v;
      }
    });
    return sum;
  }, SHORT);
  return { site, aggregate, uploadBytes: uploads[0]!.byteLength };
}

export interface HeKernelReport {
  readonly paramSetId: string;
  readonly params: number;
  readonly sites: number;
  readonly fracBits: number;
  readonly upload_bytes_per_param: number;
  /** Per CPU-second of the measuring thread (per core). */
  readonly site_encrypt_params_per_s: number;
  readonly coordinator_aggregate_params_per_s: number;
  readonly site_decrypt_params_per_s: number;
  /** The same per wall-clock second (lower when the machine is shared). */
  readonly site_encrypt_params_per_wall_s: number;
  readonly coordinator_aggregate_params_per_wall_s: number;
  readonly site_decrypt_params_per_wall_s: number;
  readonly coordinator_save_state_cpu_s: number;
  readonly state_bytes_per_param: number;
  readonly relative_l2_error: number;
  readonly plaintext_upload_bytes_per_param: number;
  readonly plaintext_site_params_per_s: number;
  readonly plaintext_aggregate_params_per_s: number;
}

export async function runHeKernels(options: HeKernelOptions = DEFAULT_HE_KERNEL_OPTIONS): Promise<HeKernelReport> {
  const context = await heContext(options.paramSetId);
  const fracBits = options.fracBits ?? maxFracBits(context, options.clip, options.maxSites);
  const key = generateKeys(context);
  try {
    const updates = makeSiteUpdates(options.params, options.sites, options.clip);
    const weights = updates.map((_, i) => (i + 1) / ((options.sites * (options.sites + 1)) / 2));
    const quant = { clip: options.clip, fracBits, maxSites: options.maxSites };
    // Warm the JIT and SEAL's memory pool on a small vector first.
    const warmParams = Math.min(options.params, context.valuesPerChunk * 8);
    const warm = updates.slice(0, 3).map((u) => measureSiteEncrypt(context, key, u.subarray(0, warmParams), { ...quant, weight: 1 / 3 }).upload);
    measureCoordinatorAggregate(context, vectorHeader(context, key.keyId, warmParams, { kind: 'fixed-point', ...quant }), warm);
    const encrypted = updates.map((u, i) => measureSiteEncrypt(context, key, u, { ...quant, weight: weights[i]! }));
    const header = vectorHeader(context, key.keyId, options.params, { kind: 'fixed-point', ...quant });
    const aggregate = measureCoordinatorAggregate(context, header, encrypted.map((r) => r.upload));
    const totalWeight = weights.reduce((a, b) => a + b, 0);
    const { result: average, ...decrypt } = timed(() => decryptAggregate(context, key, aggregate.sum, { totalWeight, minContributors: Math.min(3, options.sites) }), SHORT);
    let err2 = 0;
    let ref2 = 0;
    for (let i = 0; i < options.params; i++) {
      let expected = 0;
      for (let s = 0; s < options.sites; s++) expected += weights[s]! * updates[s]![i]!;
      expected /= totalWeight;
      err2 += (average[i]! - expected) ** 2;
      ref2 += expected ** 2;
    }
    const plain = measurePlaintextBaseline(updates, weights);
    const total = options.params * options.sites;
    const sum = (key: 'cpuSeconds' | 'wallSeconds'): number => encrypted.reduce((acc, r) => acc + r[key], 0);
    return {
      paramSetId: options.paramSetId,
      params: options.params,
      sites: options.sites,
      fracBits,
      upload_bytes_per_param: encrypted[0]!.uploadBytes / options.params,
      site_encrypt_params_per_s: total / sum('cpuSeconds'),
      coordinator_aggregate_params_per_s: total / aggregate.ingest.cpuSeconds,
      site_decrypt_params_per_s: options.params / decrypt.cpuSeconds,
      site_encrypt_params_per_wall_s: total / sum('wallSeconds'),
      coordinator_aggregate_params_per_wall_s: total / aggregate.ingest.wallSeconds,
      site_decrypt_params_per_wall_s: options.params / decrypt.wallSeconds,
      coordinator_save_state_cpu_s: aggregate.save.cpuSeconds,
      state_bytes_per_param: aggregate.stateBytes / options.params,
      relative_l2_error: Math.sqrt(err2 / ref2),
      plaintext_upload_bytes_per_param: plain.uploadBytes / options.params,
      plaintext_site_params_per_s: total / plain.site.cpuSeconds,
      plaintext_aggregate_params_per_s: total / plain.aggregate.cpuSeconds,
    };
  } finally {
    key.dispose();
  }
}

function parseArgs(argv: readonly string[]): { options: HeKernelOptions; json: boolean } {
  const options: { -readonly [K in keyof HeKernelOptions]: HeKernelOptions[K] } = { ...DEFAULT_HE_KERNEL_OPTIONS };
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--json') json = true;
    else if (arg === '--params') options.params = Number.parseInt(value(), 10);
    else if (arg === '--sites') options.sites = Number.parseInt(value(), 10);
    else if (arg === '--param-set') options.paramSetId = value();
    else if (arg === '--clip') options.clip = Number(value());
    else if (arg === '--frac-bits') options.fracBits = Number.parseInt(value(), 10);
    else if (arg === '--max-sites') options.maxSites = Number.parseInt(value(), 10);
    else throw new Error(`unknown argument ${arg}; see the header of bench/he-kernels.ts`);
  }
  if (!(options.params >= 1) || !(options.sites >= 1)) throw new Error('--params and --sites must be positive integers');
  return { options, json };
}

function printTable(r: HeKernelReport): void {
  const fmt = (x: number): string => (x >= 100 ? x.toExponential(3) : x.toPrecision(4));
  const rows: [string, string, string, string][] = [
    ['upload bytes / param', fmt(r.upload_bytes_per_param), fmt(r.plaintext_upload_bytes_per_param), fmt(r.upload_bytes_per_param / r.plaintext_upload_bytes_per_param)],
    ['site encrypt params/s per core (wall)', `${fmt(r.site_encrypt_params_per_s)} (${fmt(r.site_encrypt_params_per_wall_s)})`, fmt(r.plaintext_site_params_per_s), fmt(r.site_encrypt_params_per_s / r.plaintext_site_params_per_s)],
    ['coordinator aggregate params/s per core (wall)', `${fmt(r.coordinator_aggregate_params_per_s)} (${fmt(r.coordinator_aggregate_params_per_wall_s)})`, fmt(r.plaintext_aggregate_params_per_s), fmt(r.coordinator_aggregate_params_per_s / r.plaintext_aggregate_params_per_s)],
    ['site decrypt params/s per core (wall)', `${fmt(r.site_decrypt_params_per_s)} (${fmt(r.site_decrypt_params_per_wall_s)})`, '-', '-'],
    ['accumulator save CPU s / state bytes per param', `${fmt(r.coordinator_save_state_cpu_s)} / ${fmt(r.state_bytes_per_param)}`, '-', '-'],
    ['relative L2 error of the average', fmt(r.relative_l2_error), '0', '-'],
  ];
  console.log(`HE kernels: ${r.params} params, ${r.sites} sites, ${r.paramSetId}, fracBits ${r.fracBits}`);
  console.log(['metric', 'HE', 'plaintext', 'HE / plaintext'].join(' | '));
  for (const row of rows) console.log(row.join(' | '));
}

if (import.meta.main) {
  const { options, json } = parseArgs(process.argv.slice(2));
  const report = await runHeKernels(options);
  if (json) console.log(JSON.stringify(report));
  else printTable(report);
}
