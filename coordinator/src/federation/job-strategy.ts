import { resolveStrategy, type JobSpec, type ResolvedStrategy } from '@medfed/proto';
import { fracBitsFor } from './key-ceremony.js';

/** The precision of a plaintext spec without an encryption block (the most any lane layout gives). */
export const PLAINTEXT_FRAC_BITS = 24;

/**
 * A job's strategy, checked against the registry: an unknown name (STRATEGY_UNKNOWN), an unknown or
 * out-of-range parameter (STRATEGY_SETTINGS_INVALID), or on an encrypted job a strategy that needs
 * every site's own update (STRATEGY_NEEDS_PLAINTEXT).
 */
export function resolveJobStrategy(spec: JobSpec): ResolvedStrategy {
  return resolveStrategy(spec.strategy, { encrypted: spec.encryption?.enabled === true });
}

/**
 * The fixed-point precision of the job's updates: on an encrypted job what the lanes carry for its
 * clip and number of sites (set at creation, refused when too few bits remain); on a plaintext job
 * the same derivation, so that its mean is bit-identical to that of its encrypted twin. A plaintext
 * job that could have no encrypted twin (an unknown parameter set, too many sites for the lanes)
 * has nothing to match and uses PLAINTEXT_FRAC_BITS.
 */
export function encodingFracBits(spec: JobSpec): number {
  const enc = spec.encryption;
  if (!enc) return PLAINTEXT_FRAC_BITS;
  if (enc.fracBits > 0) return enc.fracBits;
  if (enc.enabled) return fracBitsFor(enc.paramSet, enc.clipNorm, spec.sites.length);
  try {
    return fracBitsFor(enc.paramSet, enc.clipNorm, spec.sites.length);
  } catch {
    return PLAINTEXT_FRAC_BITS;
  }
}
