import Type, { type Static } from 'typebox';

const ROLE_NAMES = ['clinician', 'researcher', 'auditor', 'site-steward'] as const;

/**
 * The hospital's identity provider, as the site configures it. Only tokens it signed are accepted:
 * the coordinator's issuer and keys are never configured here, so nothing it mints can pass.
 */
export const OidcConfigSchema = Type.Object({
  issuer: Type.String({ minLength: 1, maxLength: 512 }),
  audience: Type.String({ minLength: 1, maxLength: 512 }),
  /** A JWKS file the site keeps, or the issuer's JWKS URL (https); one of them. */
  jwksFile: Type.Optional(Type.String({ minLength: 1 })),
  jwksUrl: Type.Optional(Type.String({ pattern: '^https://' })),
  /** Claim holding the user's role (default `medfed_role`); a list claim picks the first mapped value. */
  roleClaim: Type.String({ minLength: 1, default: 'medfed_role' }),
  /** Claim holding the user id matched against the care-team field (default `sub`). */
  userClaim: Type.String({ minLength: 1, default: 'sub' }),
  /** IdP role value -> masking role; identity mapping of the role names when absent. */
  roleMap: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 128 }), Type.Union(ROLE_NAMES.map((r) => Type.Literal(r))))),
  algorithms: Type.Array(Type.String({ pattern: '^(RS|PS|ES)(256|384|512)$|^EdDSA$' }), { minItems: 1, default: ['RS256', 'ES256', 'EdDSA'] }),
}, { additionalProperties: false });

export const QueryApiConfigSchema = Type.Object({
  /** Loopback unless the site decides otherwise (then TLS is required in production). */
  host: Type.String({ minLength: 1, default: '127.0.0.1' }),
  port: Type.Integer({ minimum: 0, maximum: 65_535, default: 8_470 }),
  tls: Type.Optional(Type.Object({
    cert: Type.String({ minLength: 1 }),
    key: Type.String({ minLength: 1 }),
  }, { additionalProperties: false })),
  identity: Type.Object({
    oidc: Type.Optional(OidcConfigSchema),
    /** API keys the steward issues locally (medfed agent users add); on unless turned off. */
    apiKeys: Type.Boolean({ default: true }),
  }, { additionalProperties: false, default: {} }),
  /** The masking schema of the dataset (classes, patient id, site and care-team fields); default inferred from names. */
  schema: Type.Optional(Type.String({ minLength: 1 })),
  /** The steward's masking policy; default the built-in role defaults. */
  policy: Type.Optional(Type.String({ minLength: 1 })),
  /** JSONL access log (no patient values); default `<stateDir>/query-api/access.jsonl`. */
  accessLog: Type.Optional(Type.String({ minLength: 1 })),
  /** Most records one response may carry. */
  maxRecords: Type.Integer({ minimum: 1, maximum: 100_000, default: 1_000 }),
}, { additionalProperties: false });

export type QueryApiConfig = Static<typeof QueryApiConfigSchema>;
export type OidcConfig = Static<typeof OidcConfigSchema>;
export const QUERY_ROLES = ROLE_NAMES;
export type QueryRole = (typeof ROLE_NAMES)[number];
