import Type, { type Static } from 'typebox';
import { QueryApiConfigSchema } from '../query-api/config.js';

const GRPC_ADDRESS = '^(\\[[0-9a-fA-F:]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$';

/** Every setting of `medfed agent start`, from a file, then the environment, then flags. */
export const AgentConfigSchema = Type.Object({
  env: Type.Union([Type.Literal('development'), Type.Literal('production')], { default: 'development' }),
  siteId: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
  coordinator: Type.Object({
    /** host:port of the coordinator's gRPC endpoint. */
    grpc: Type.String({ pattern: GRPC_ADDRESS }),
    /**
     * The gRPC addresses of the coordinator's replicas, when the agent reaches them directly (not
     * through one Service address): refused with NOT_LEADER, the agent moves to the leader the
     * coordinator names if it is listed here, else to the next replica. Unset: it retries `grpc`.
     */
    replicas: Type.Optional(Type.Array(Type.String({ pattern: GRPC_ADDRESS }), { minItems: 1, maxItems: 16 })),
    /** TLS to the coordinator; required unless it is on this host. `ca`: the CA that signs its certificate. */
    tls: Type.Optional(Type.Object({
      ca: Type.Optional(Type.String({ minLength: 1 })),
    }, { additionalProperties: false })),
  }, { additionalProperties: false }),
  data: Type.Object({
    csv: Type.String({ minLength: 1 }),
    label: Type.String({ minLength: 1 }),
    schema: Type.Optional(Type.String({ minLength: 1 })),
    /**
     * The site's opt-out list (one patient id per line): those patients are left out of every use
     * (training, evaluation, statistics, the local query API). Default `<stateDir>/opt-out.txt`.
     */
    optOutFile: Type.Optional(Type.String({ minLength: 1 })),
    /** The column that identifies a patient (opt-outs are matched on it); default: the medical record number column by name. */
    patientIdColumn: Type.Optional(Type.String({ minLength: 1 })),
    /**
     * The masking schema (field classes, patient id) and the steward's masking policy that federated
     * statistics answer under (docs/statistics.md). Each falls back to `queryApi.schema` /
     * `queryApi.policy`; without either, the schema is inferred from field names and the policy is the default.
     */
    maskingSchema: Type.Optional(Type.String({ minLength: 1 })),
    maskingPolicy: Type.Optional(Type.String({ minLength: 1 })),
    /**
     * The largest share of rows a job may drop (a feature empty or not parseable as its type) before this
     * site refuses it with DATA_TOO_MANY_DROPPED, naming the first rows and columns. Default 0.05.
     */
    maxDroppedShare: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  }, { additionalProperties: false }),
  /**
   * The consortium's name, as its stewards' signed approvals name it (docs/governance.md). Default:
   * the consortium of the roster this site imported, else of the pinned trust bundle, else `default`.
   */
  consortium: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' })),
  /** Private state of this agent (keys, ledger, logs); created with mode 0700. */
  stateDir: Type.String({ minLength: 1, default: './medfed-agent' }),
  /** Where operators find this agent's log; reported to the coordinator for its failure panel. */
  logFile: Type.Optional(Type.String({ minLength: 1 })),
  logLevel: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
  pollWaitMs: Type.Integer({ minimum: 100, maximum: 30_000, default: 5_000 }),
  heartbeatSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 300, default: 5 }),
  /** The site's privacy budget for its dataset: every DP release (training, statistics) is charged to it. */
  privacy: Type.Object({
    dataset: Type.String({ pattern: '^[A-Za-z0-9._-]{1,128}$', default: 'default' }),
    budgetEpsilon: Type.Number({ minimum: 0, maximum: 1000, default: 10 }),
    budgetDelta: Type.Number({ minimum: 0, maximum: 0.01, default: 1e-5 }),
  }, { additionalProperties: false, default: {} }),
  /** Key custody for encrypted jobs. */
  custody: Type.Object({
    /** JSON file of the other sites' steward and key-agreement key thumbprints, exchanged out of band. */
    pinnedSites: Type.Optional(Type.String({ minLength: 1 })),
    /** Development only: approve a job's site list without a steward (labelled in every log line). */
    autoApproveSiteLists: Type.Boolean({ default: false }),
  }, { additionalProperties: false, default: {} }),
  /**
   * Job approval by the site's steward (medfed agent approve). Closed by default: a task of a job
   * the steward has not approved, for the exact spec announced, is refused.
   */
  approvals: Type.Object({
    /** Development harnesses only (refused in production): approve every job on first sight. */
    autoApproveInDevelopment: Type.Boolean({ default: false }),
  }, { additionalProperties: false, default: {} }),
  /** The hospital's own query API (docs/query-api.md); off unless configured. */
  queryApi: Type.Optional(QueryApiConfigSchema),
  /**
   * The site's supply-chain gate for models (docs/gate.md, "Models at the agent"): every verified
   * model is judged before load. `policy`: a gate policy file (default: the shipped model policy);
   * `env`: which of its environments applies (default: prod for a production agent, dev otherwise;
   * a production agent accepts only prod).
   */
  gate: Type.Object({
    policy: Type.Optional(Type.String({ minLength: 1 })),
    env: Type.Optional(Type.Union([Type.Literal('dev'), Type.Literal('staging'), Type.Literal('prod')])),
  }, { additionalProperties: false, default: {} }),
  /**
   * What downloaded models are verified against (docs/transparency-log.md): the coordinator's
   * manifest JWKS file and its log's checkpoint verifier key. Required in production.
   */
  trust: Type.Object({
    manifestJwks: Type.Optional(Type.String({ minLength: 1 })),
    checkpointKey: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    /**
     * How many of `witnessKeys` (other sites' witness verifier keys, exchanged out of band) must
     * have cosigned a checkpoint before a model under it is loaded. 0 (default): none required.
     */
    requiredCosignatures: Type.Integer({ minimum: 0, maximum: 64, default: 0 }),
    witnessKeys: Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), { maxItems: 64, default: [] }),
  }, { additionalProperties: false, default: {} }),
  /**
   * Development only (a production agent refuses any other value): settings for simulations.
   * `trainingSlowdown`: after local training the site waits (factor - 1) x the training's wall
   * time (at most 10 minutes) before it clips and uploads, as a slower site would (semi-asynchronous rounds).
   */
  development: Type.Object({
    trainingSlowdown: Type.Number({ minimum: 1, maximum: 1000, default: 1 }),
  }, { additionalProperties: false, default: {} }),
}, { additionalProperties: false });

export type AgentConfig = Static<typeof AgentConfigSchema>;
