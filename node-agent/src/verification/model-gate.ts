import { evaluateGate, loadPolicy, MODEL_POLICY_PATH, GateError, type GateDecision, type GateEnvironment, type GatePolicy, type GateTrigger } from '@medfed/gate';
import { TrustError } from './errors.js';

/** `gate` in the agent config: the site's policy for models (default: gate/policies/model.yaml) and its environment. */
export interface ModelGateSettings {
  readonly policy?: string | undefined;
  /** Default from the agent's mode: production → prod, development → dev. */
  readonly env?: GateEnvironment | undefined;
}

/** One downloaded model, as the gate sees it: exactly the bytes that will be loaded, plus their manifest. */
export interface GatedModel {
  readonly modelId: string;
  /** The manifest's blob name (model.bin, update-sum.bin, stats-sum.bin): the file name in the artifact. */
  readonly blobName: string;
  readonly bytes: Uint8Array;
  /** The manifest (compact JWS) the bytes arrived with, when the coordinator publishes. */
  readonly manifestJws?: string | undefined;
  /** Set only when the manifest's JWS verified against the pinned keys: who signed, and the blob SHA-256 it signs. */
  readonly signedBy?: { readonly kid: string; readonly blobSha256: string } | undefined;
}

const AGENT_GATE_ENV = { development: 'dev', production: 'prod' } as const;
const MANIFEST_FILE = 'manifest.jws';

function describe(trigger: GateTrigger): string {
  return `${trigger.gate}/${trigger.trigger} (${trigger.subject}): ${trigger.message}`;
}

/**
 * The supply-chain gate at the site, applied to every model the agent downloaded and verified,
 * before it is loaded: the artifact is the model blob and its signed manifest, held in memory (the
 * digest is the directory digest of those two files; nothing is written to disk). The signature
 * gate counts the manifest's JWS, verified against the pinned manifest keys, as the signature: it
 * signs the SHA-256 of the blob. A `stop` refuses the model with MODEL_GATE_STOPPED and every
 * trigger; a `warn` is logged. The policy is read once, at agent start.
 */
export class ModelGate {
  readonly #policy: GatePolicy;
  readonly #env: GateEnvironment;
  readonly #onWarning: (message: string) => void;

  private constructor(policy: GatePolicy, env: GateEnvironment, onWarning: (message: string) => void) {
    this.#policy = policy;
    this.#env = env;
    this.#onWarning = onWarning;
  }

  static async load(settings: ModelGateSettings, agentEnv: 'development' | 'production', onWarning: (message: string) => void): Promise<ModelGate> {
    const env = settings.env ?? AGENT_GATE_ENV[agentEnv];
    if (agentEnv === 'production' && env !== 'prod') {
      throw new TrustError('MODEL_GATE_POLICY_INVALID', `gate.env ${env} is weaker than prod; a production agent judges models with the prod rules of its policy`);
    }
    const source = settings.policy ?? MODEL_POLICY_PATH;
    let policy: GatePolicy;
    try {
      policy = await loadPolicy(source);
    } catch (err) {
      if (err instanceof GateError) throw new TrustError('MODEL_GATE_POLICY_INVALID', `gate.policy: ${err.message}`, undefined, { cause: err });
      throw err;
    }
    if (!policy.environments[env]) {
      throw new TrustError('MODEL_GATE_POLICY_INVALID', `gate.policy ${source} has no rules for environment ${env}; add environments.${env}.rules`);
    }
    return new ModelGate(policy, env, onWarning);
  }

  get env(): GateEnvironment {
    return this.#env;
  }

  /** Judges one model; resolves with the decision when it may be loaded, throws MODEL_GATE_STOPPED when not. */
  async check(model: GatedModel): Promise<GateDecision> {
    const files = [{ path: model.blobName, bytes: model.bytes }];
    if (model.manifestJws) files.push({ path: MANIFEST_FILE, bytes: Buffer.from(model.manifestJws, 'ascii') });
    const decision = await evaluateGate({
      policy: this.#policy,
      env: this.#env,
      artifact: { files },
      ...(model.signedBy ? { verifiedSignature: { subjectDigest: `sha256:${model.signedBy.blobSha256}`, keyFingerprint: `manifest key ${model.signedBy.kid}` } } : {}),
    });
    const live = decision.triggers.filter((t) => t.exemptedBy === null);
    if (decision.decision === 'stop') {
      const stops = live.filter((t) => t.action === 'stop');
      throw new TrustError('MODEL_GATE_STOPPED',
        `the gate policy ${decision.policy?.name ?? 'unreadable'} (${this.#env}) stopped model ${model.modelId} (${decision.artifactDigest ?? 'unreadable'}) before load: ${stops.map(describe).join('; ')}`,
        { model: model.modelId, artifactDigest: decision.artifactDigest, triggers: stops.map((t) => ({ gate: t.gate, trigger: t.trigger, subject: t.subject, message: t.message })) });
    }
    if (decision.decision === 'warn') {
      this.#onWarning(`the gate policy ${decision.policy?.name ?? ''} (${this.#env}) warns about model ${model.modelId}: ${live.map(describe).join('; ')}`);
    }
    return decision;
  }
}
