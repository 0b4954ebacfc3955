import Type, { type Static } from 'typebox';

const Port = Type.Integer({ minimum: 0, maximum: 65_535 });

/** Every setting of `medfed coordinator start`, from a file, then the environment, then flags. */
export const CoordinatorConfigSchema = Type.Object({
  env: Type.Union([Type.Literal('development'), Type.Literal('production')], { default: 'development' }),
  rest: Type.Object({
    host: Type.String({ minLength: 1, default: '127.0.0.1' }),
    port: Port,
  }, { additionalProperties: false, default: { port: 8080 } }),
  grpc: Type.Object({
    host: Type.String({ minLength: 1, default: '127.0.0.1' }),
    port: Port,
  }, { additionalProperties: false, default: { port: 9090 } }),
  /** PostgreSQL URL; without one the coordinator runs embedded PGlite in `dataDir/db`. */
  databaseUrl: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  dataDir: Type.String({ minLength: 1, default: './medfed-data' }),
  /** Keep the embedded database in memory (demo, simulate, tests). */
  inMemoryDatabase: Type.Boolean({ default: false }),
  logLevel: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
  maxUpdateBytes: Type.Integer({ minimum: 1024, maximum: 4 * 1024 ** 3, default: 512 * 1024 ** 2 }),
  /** REST request body limit (JSON routes). */
  bodyLimitBytes: Type.Integer({ minimum: 1024, maximum: 64 * 1024 ** 2, default: 1024 ** 2 }),
  /** Seconds between deadline checks. */
  tickSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 60, default: 1 }),
  /** How long a round may stay `aggregating` while its close keeps failing before it fails (AGGREGATION_FAILED). */
  aggregationBoundSeconds: Type.Integer({ minimum: 10, maximum: 86_400, default: 600 }),
  /** Replicas sharing one PostgreSQL database: one leads under a lease, the others stand by (docs/operations.md, "Replicas"). */
  ha: Type.Object({
    /** Seconds a leader's lease lasts without renewal (renewed every quarter of it); a standby takes over after it lapses. */
    leaseSeconds: Type.Integer({ minimum: 3, maximum: 300, default: 8 }),
    /** The addresses a standby names as the leader (`medfed-leader`): how agents and operators reach this replica when it leads. */
    advertise: Type.Object({
      grpc: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
      rest: Type.Optional(Type.String({ pattern: '^https?://[^/?#]+$' })),
    }, { additionalProperties: false, default: {} }),
  }, { additionalProperties: false, default: {} }),
  /** Where model and update payloads live: in PostgreSQL (default with a database URL, shared by replicas) or as files. */
  blobs: Type.Object({
    store: Type.Union([Type.Literal('auto'), Type.Literal('postgres'), Type.Literal('file')], { default: 'auto' }),
    /** The file store's directory (default `<dataDir>/blobs`). */
    dir: Type.Optional(Type.String({ minLength: 1 })),
  }, { additionalProperties: false, default: {} }),
  /** The model release workflow (docs/releases.md). */
  releases: Type.Object({
    /** Seconds a chosen site has for its decrypt or reproduce step before the step goes to the next key holder. */
    stepTimeoutSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 7 * 86_400, default: 600 }),
  }, { additionalProperties: false, default: {} }),
  /** TLS for REST and gRPC (PEM files). Required outside development and on any non-loopback address. */
  tls: Type.Optional(Type.Object({
    cert: Type.String({ minLength: 1 }),
    key: Type.String({ minLength: 1 }),
    /** CA bundle that signs client certificates (with requireClientCert). */
    ca: Type.Optional(Type.String({ minLength: 1 })),
    requireClientCert: Type.Boolean({ default: false }),
  }, { additionalProperties: false })),
  /** The audit trail (docs/compliance.md). */
  audit: Type.Object({
    /**
     * Keep audit entries this many days; `POST /v1/audit/purge` refuses to cut newer unless forced
     * with the stewards' signed approvals. Never less than six years (HIPAA 164.316(b)(2)(i)), leap
     * days included; the consortium roster's `rules.auditRetentionDays` may lengthen it.
     */
    retentionDays: Type.Integer({ minimum: 2192, maximum: 36_525, default: 2192 }),
  }, { additionalProperties: false, default: {} }),
  /** The consortium's rule: who decides purges inside retention and rule changes (docs/governance.md). */
  governance: Type.Object({
    /**
     * A consortium roster file every listed steward signed, read at start: installed when none is yet,
     * and the coordinator refuses to start when it does not verify (or would change the installed rule
     * without the stewards' approvals).
     */
    rosterFile: Type.Optional(Type.String({ minLength: 1 })),
  }, { additionalProperties: false, default: {} }),
  /** Identity and access (docs/auth.md). Lifetimes are capped by the verifiers whatever is configured. */
  auth: Type.Object({
    issuer: Type.String({ minLength: 1, maxLength: 200, default: 'https://medfed-coordinator' }),
    audience: Type.String({ minLength: 1, maxLength: 200, default: 'medfed-api' }),
    nodeTokenSeconds: Type.Integer({ minimum: 1, maximum: 900, default: 300 }),
    personTokenSeconds: Type.Integer({ minimum: 1, maximum: 900, default: 300 }),
    /** Automatic logoff after this much inactivity (HIPAA 164.312(a)(2)(iii)). */
    sessionIdleSeconds: Type.Integer({ minimum: 1, maximum: 900, default: 900 }),
    sessionMaxSeconds: Type.Integer({ minimum: 60, maximum: 86_400, default: 43_200 }),
    apiKeyDays: Type.Integer({ minimum: 1, maximum: 365, default: 90 }),
    enrollmentCodeHours: Type.Number({ exclusiveMinimum: 0, maximum: 24, default: 24 }),
    dpopMaxAgeSeconds: Type.Integer({ minimum: 1, maximum: 60, default: 60 }),
    clockSkewSeconds: Type.Integer({ minimum: 0, maximum: 30, default: 5 }),
    /** How long a gRPC call or stream may outlive the token it opened with. */
    streamGraceSeconds: Type.Integer({ minimum: 0, maximum: 900, default: 120 }),
    /** Rotate the token signing key after this many days (0: only on request). */
    signingKeyRotationDays: Type.Integer({ minimum: 0, maximum: 365, default: 30 }),
    /** Development on loopback only: gRPC calls without a credential act as the site they name. */
    allowAnonymousNodes: Type.Boolean({ default: false }),
    /** Origins REST DPoP proofs may name (e.g. https://coordinator.example:8443); default: the request's own. */
    restOrigins: Type.Array(Type.String({ pattern: '^https?://[^/?#]+$' }), { maxItems: 16, default: [] }),
    /** Authorities gRPC DPoP proofs may name (e.g. coordinator.example:9443); default: the call's :authority. */
    grpcAuthorities: Type.Array(Type.String({ pattern: '^[^/?#\\s]+$' }), { maxItems: 16, default: [] }),
    /** Login with an external OpenID Connect provider. */
    oidc: Type.Optional(Type.Object({
      issuer: Type.String({ minLength: 1 }),
      audience: Type.String({ minLength: 1 }),
      jwksUri: Type.String({ pattern: '^https?://' }),
      roleClaim: Type.String({ minLength: 1, default: 'medfed_role' }),
      siteClaim: Type.String({ minLength: 1, default: 'medfed_site' }),
      algorithms: Type.Array(Type.Union(['RS256', 'PS256', 'ES256', 'EdDSA'].map((a) => Type.Literal(a))), { minItems: 1, default: ['RS256', 'ES256', 'EdDSA'] }),
    }, { additionalProperties: false })),
  }, { additionalProperties: false, default: {} }),
}, { additionalProperties: false });

export type CoordinatorConfig = Static<typeof CoordinatorConfigSchema>;
