import Type from 'typebox';
import { STRATEGIES, STRATEGY_NAMES, type StrategySettings } from '@medfed/proto';

const SiteId = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' });

/** Every parameter any registered strategy declares, with the strategies that take it. */
function strategyParameters() {
  const byName = new Map<string, string[]>();
  for (const name of STRATEGY_NAMES) {
    for (const [key, spec] of Object.entries(STRATEGIES[name].parameters)) {
      byName.set(key, [...(byName.get(key) ?? []), `${name} (${spec.describe}, default ${spec.default})`]);
    }
  }
  return Object.fromEntries([...byName.entries()].sort(([a], [b]) => a.localeCompare(b))
    .map(([key, uses]) => [key, Type.Optional(Type.Number({ description: uses.join('; ') }))]));
}

/**
 * The job's strategy, derived from the proto registry: a name from it and that strategy's numeric
 * parameters. Which parameters a strategy takes and their ranges differ by strategy, so they are
 * checked when the job is created (resolveStrategy), which answers STRATEGY_SETTINGS_INVALID naming
 * the strategy's own parameters; the schema only says what exists.
 */
const StrategySchema = Type.Unsafe<StrategySettings>(Type.Object({
  name: Type.Enum(STRATEGY_NAMES, { default: 'fedavg' }),
  ...strategyParameters(),
}, { default: {} }));

/** The job specification as accepted over REST; defaults make a minimal request useful. */
export const JobSpecSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  features: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 10_000 }),
  label: Type.String({ minLength: 1, maxLength: 200 }),
  classes: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 2, maxItems: 1000 }),
  model: Type.Object({
    hidden: Type.Array(Type.Integer({ minimum: 1, maximum: 65_536 }), { maxItems: 8, default: [32] }),
    activation: Type.Union([Type.Literal('relu'), Type.Literal('tanh')], { default: 'relu' }),
  }, { additionalProperties: false, default: {} }),
  training: Type.Object({
    localEpochs: Type.Integer({ minimum: 1, maximum: 1000, default: 2 }),
    batchSize: Type.Integer({ minimum: 1, maximum: 65_536, default: 32 }),
    learningRate: Type.Number({ exclusiveMinimum: 0, maximum: 10, default: 0.01 }),
    optimizer: Type.Union([Type.Literal('sgd'), Type.Literal('adam')], { default: 'adam' }),
    seed: Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1, default: 42 }),
  }, { additionalProperties: false, default: {} }),
  rounds: Type.Integer({ minimum: 1, maximum: 10_000, default: 5 }),
  minSites: Type.Integer({ minimum: 1, maximum: 10_000, default: 1 }),
  roundDeadlineSeconds: Type.Integer({ minimum: 1, maximum: 7 * 24 * 3600, default: 600 }),
  strategy: StrategySchema,
  sites: Type.Array(SiteId, { minItems: 1, maxItems: 10_000 }),
  evaluators: Type.Optional(Type.Array(SiteId, { maxItems: 100 })),
  standardization: Type.Union([Type.Literal('federated'), Type.Literal('none')], { default: 'federated' }),
  dp: Type.Optional(Type.Object({
    noiseMultiplier: Type.Number({ exclusiveMinimum: 0, maximum: 100 }),
    clipNorm: Type.Number({ exclusiveMinimum: 0, maximum: 1000 }),
    sampleRate: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
    delta: Type.Number({ exclusiveMinimum: 0, maximum: 0.01 }),
  }, { additionalProperties: false })),
  trainerAllowlist: Type.Optional(Type.Array(Type.String({ pattern: '^[0-9a-f]{64}$' }), { maxItems: 100 })),
  encryption: Type.Object({
    enabled: Type.Boolean({ default: true }),
    paramSet: Type.String({ minLength: 1, maxLength: 64, default: 'bfv-n4096-q60-t48-2x23' }),
    clipNorm: Type.Number({ exclusiveMinimum: 0, maximum: 1000, default: 5 }),
    /** 0 means: the most precision the lanes allow for this many sites (set at creation). */
    fracBits: Type.Integer({ minimum: 0, maximum: 40, default: 0 }),
  }, { additionalProperties: false, default: {} }),
}, { additionalProperties: false });

export const CreateJobSchema = Type.Object({
  spec: JobSpecSchema,
  /** Only the caller's own principal is accepted: ownership comes from authentication (JOB_OWNER_NOT_SETTABLE otherwise). */
  owner: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
}, { additionalProperties: false });

export const RegisterSiteSchema = Type.Object({
  id: SiteId,
  displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
}, { additionalProperties: false });

export const AdmitTrainerSchema = Type.Object({
  artifactPath: Type.String({ minLength: 1, maxLength: 4096 }),
  listing: Type.String({ minLength: 1, maxLength: 1024 * 1024 }),
  vulnReportPath: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  sbomPath: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  signaturePath: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  trustedKeyPaths: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { maxItems: 16 })),
}, { additionalProperties: false });
