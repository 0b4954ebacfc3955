import type { BatchEncoder, Ciphertext, Evaluator, Plaintext, SEALContext } from 'node-seal';
import { valuesPerChunk } from './encoding.js';
import { modulusLimbs, packedPolyBytes, type ModulusLimbs } from './coeff-pack.js';
import { getParamSet, paramSetDigest, paramSetProblems, type HeParamSet } from './param-sets.js';
import { loadHe, type SealModule } from './seal-module.js';
import { learnTemplates, type SealTemplates } from './seal-layout.js';

/**
 * Everything needed to work under one parameter set: the SEAL context, encoder and evaluator,
 * the wire constants, and scratch objects reused across calls. Contexts are cached per set and
 * shared; HE operations are synchronous, so the scratch objects are never used concurrently.
 */
export class HeContext {
  readonly paramSet: HeParamSet;
  /** SHA-256 (hex) of the parameter set's canonical description. */
  readonly digest: string;
  readonly digestBytes: Uint8Array;
  readonly slotCount: number;
  readonly valuesPerChunk: number;
  readonly coeffBits: number;
  readonly coeffLimbs: ModulusLimbs;
  /** Bytes of one packed polynomial on the wire. */
  readonly polyBytes: number;
  /** The plain modulus t (< 2^52, exact as a double). */
  readonly plainModulus: number;

  /** SEAL internals, for the he/ modules only. */
  readonly seal: SealModule;
  readonly sealContext: SEALContext;
  readonly encoder: BatchEncoder;
  readonly evaluator: Evaluator;
  readonly templates: SealTemplates;
  readonly scratchPlain: Plaintext;
  readonly scratchCipher: Ciphertext;
  /** Encoder input: N slots as 64-bit words, and a Uint32 view of it for fast writes. */
  readonly slotValues: BigUint64Array;
  readonly slotWords: Uint32Array;

  constructor(seal: SealModule, set: HeParamSet) {
    this.paramSet = set;
    this.digest = paramSetDigest(set.id);
    this.digestBytes = Uint8Array.from(Buffer.from(this.digest, 'hex'));
    this.slotCount = set.polyModulusDegree;
    this.valuesPerChunk = valuesPerChunk(set);
    this.coeffBits = set.coeffModulusBits[0]!;
    this.coeffLimbs = modulusLimbs(BigInt(set.coeffModulus[0]!));
    this.polyBytes = packedPolyBytes(set.polyModulusDegree, this.coeffBits);
    this.plainModulus = Number(set.plainModulus);
    this.seal = seal;

    const parms = new seal.EncryptionParameters(seal.SchemeType.bfv);
    const moduli = new seal.VectorModulus();
    const primes = set.coeffModulus.map((p) => new seal.Modulus(BigInt(p)));
    const plain = new seal.Modulus(BigInt(set.plainModulus));
    try {
      parms.setPolyModulusDegree(set.polyModulusDegree);
      for (const p of primes) moduli.push_back(p);
      parms.setCoeffModulus(moduli);
      parms.setPlainModulus(plain);
      this.sealContext = new seal.SEALContext(parms, true, seal.SecLevelType.tc128);
    } finally {
      for (const handle of [...primes, plain, moduli, parms]) handle.delete();
    }
    const data = this.sealContext.firstContextData();
    const qualifiers = data.qualifiers();
    const sound = this.sealContext.parametersSet() && qualifiers.usingBatching && qualifiers.securityLevel.value === 128;
    qualifiers.delete();
    data.delete();
    if (!sound) {
      this.sealContext.delete();
      throw new Error(`SEAL rejects parameter set ${set.id} (not set, no batching, or below 128-bit security)`);
    }
    this.encoder = new seal.BatchEncoder(this.sealContext);
    this.evaluator = new seal.Evaluator(this.sealContext);
    this.templates = learnTemplates(seal, this.sealContext, this.encoder, set.polyModulusDegree);
    this.scratchPlain = new seal.Plaintext();
    this.scratchCipher = new seal.Ciphertext();
    this.slotValues = new BigUint64Array(set.polyModulusDegree);
    this.slotWords = new Uint32Array(this.slotValues.buffer);
  }
}

const contexts = new Map<string, Promise<HeContext>>();

/** The shared context of a parameter set (SEAL is loaded on first use). */
export function heContext(paramSetId: string): Promise<HeContext> {
  let set: HeParamSet;
  try {
    set = getParamSet(paramSetId);
  } catch (err) {
    return Promise.reject(err);
  }
  let context = contexts.get(set.id);
  if (context === undefined) {
    const problems = paramSetProblems(set);
    if (problems.length > 0) return Promise.reject(new Error(`HE parameter set ${set.id} is unsound: ${problems.join('; ')}`));
    context = loadHe().then((seal) => new HeContext(seal, set));
    context.catch(() => contexts.delete(set.id));
    contexts.set(set.id, context);
  }
  return context;
}
