import type { CosignatureWaitLog } from './await-cosignatures.js';
import { TrustError } from './errors.js';
import { ModelGate, type ModelGateSettings } from './model-gate.js';
import { ModelVerifier } from './model-verifier.js';
import { loadTrustAnchors, type TrustSettings } from './trust-anchors.js';
import { coordinatorCaExpiries, readPinnedTrust } from './trust-bundle.js';
import { MedfedError } from '@medfed/proto';
import { describeExpiry, expiryWarningDays } from '@medfed/proto/trust/index';
import { loadOrCreateWitnessKey, loadVerifierState } from './verifier-state.js';

export interface CreateVerifierOptions {
  readonly env: 'development' | 'production';
  readonly siteId: string;
  readonly stateDir: string;
  readonly trust?: TrustSettings | undefined;
  readonly submitCosignature?: (cosigned: string) => Promise<void>;
  readonly onWarning: (message: string, err?: unknown) => void;
  /** The site's gate policy for models (agent config `gate`); default: the shipped model policy, env from `env`. */
  readonly gate?: ModelGateSettings | undefined;
  /** Where waiting for other sites' cosignatures is logged. */
  readonly log?: CosignatureWaitLog | undefined;
  /** The coordinator CA the agent trusts (coordinator.tls.ca): a warning when it expires within the threshold. */
  readonly coordinatorCa?: string | undefined;
}

/**
 * The agent's verifier from its config: pinned anchors are required in production; in development
 * without them the agent runs, but says loudly that models are not verified against a signed manifest.
 */
export async function createModelVerifier(options: CreateVerifierOptions): Promise<ModelVerifier> {
  // A pinned trust bundle is re-checked file by file: a damaged one stops the agent.
  await readPinnedTrust(options.stateDir);
  const anchors = await loadTrustAnchors(options.trust);
  if (!anchors && options.env === 'production') {
    throw new TrustError('TRUST_ANCHORS_MISSING', "a production agent needs the coordinator's pinned keys: import the coordinator's trust bundle (medfed agent trust import DIR --fingerprint F), or set trust.manifestJwks (its JWKS file) and trust.checkpointKey (its log verifier key)");
  }
  if (!anchors) {
    options.onWarning('MODEL VERIFICATION IS OFF: no trust bundle is pinned (medfed agent trust import) and no trust.manifestJwks / trust.checkpointKey are configured, so downloaded models are only hashed, not checked against a signed manifest and the transparency log (development only; a production agent refuses to start like this)');
  }
  for (const s of await coordinatorCaExpiries(options.coordinatorCa, { warningDays: warningDays() })) {
    if (s.warning) options.onWarning(`${describeExpiry(s)} (coordinator.tls.ca ${options.coordinatorCa}): ask the coordinator's operator for a renewed trust bundle before it expires`);
  }
  const gate = await ModelGate.load(options.gate ?? {}, options.env, (message) => options.onWarning(message));
  const verifier = new ModelVerifier({
    anchors,
    gate,
    state: await loadVerifierState(options.stateDir),
    witness: await loadOrCreateWitnessKey(options.stateDir, options.siteId),
    ...(options.submitCosignature ? { submitCosignature: options.submitCosignature } : {}),
    ...(options.log ? { log: options.log } : {}),
    onWarning: options.onWarning,
  });
  // This agent's own cosignature never counts for itself: k must be reachable with the others alone.
  const { keys, required } = verifier.othersRequired();
  if (required > keys.length) {
    throw new TrustError('TRUST_ANCHORS_INVALID', `trust.requiredCosignatures is ${required} but only ${keys.length} trust.witnessKeys of other sites are pinned (this agent's own witness key does not count)`);
  }
  return verifier;
}

/** MEDFED_EXPIRY_WARNING_DAYS, refused at start when it is not a number of days. */
function warningDays(): number {
  try {
    return expiryWarningDays();
  } catch (err) {
    throw new MedfedError('CONFIG_INVALID', (err as Error).message);
  }
}
