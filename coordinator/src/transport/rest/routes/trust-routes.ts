import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { AuthService } from '../../../auth/auth-service.js';
import type { CertificateExpiry } from '../../../keys/expiry.js';
import type { ModelPublisher } from '../../../publishing/publisher.js';

const Jwks = Type.Object({ keys: Type.Array(Type.Object({}, { additionalProperties: true })) }, { additionalProperties: true });
const Anchors = Type.Object({
  manifestJwks: Jwks,
  tokenJwks: Jwks,
  logKey: Type.String({ description: "the transparency log's checkpoint verifier key (<origin>+<hex key id>+<base64 key>)" }),
}, { additionalProperties: false });
const Expiry = Type.Array(Type.Object({
  name: Type.String({ description: 'tls-server (the coordinator\'s TLS certificate) or ca (the CA certificate that signed it)' }),
  notAfter: Type.String({ format: 'date-time' }),
  daysLeft: Type.Integer({ description: 'whole days left; negative once expired' }),
  warning: Type.Boolean({ description: 'expired or expiring within the warning threshold (MEDFED_EXPIRY_WARNING_DAYS, default 30)' }),
}, { additionalProperties: false }));

export interface TrustRouteDeps {
  readonly auth: AuthService;
  readonly publisher: ModelPublisher;
  readonly expiry: CertificateExpiry;
}

/**
 * What sites pin and what the operator watches (docs/trust.md): the coordinator's public trust
 * anchors, as `medfed trust export` bundles them, and when its certificates expire.
 */
export function registerTrustRoutes(app: FastifyInstance, deps: TrustRouteDeps): void {
  app.register(async (api) => {
    api.get('/trust/anchors', {
      schema: { summary: 'The public keys sites pin: manifest signing keys, token signing keys and the log verifier key', response: { 200: Anchors } },
    }, async () => ({ manifestJwks: deps.publisher.jwks(), tokenJwks: deps.auth.jwks(), logKey: deps.publisher.checkpointKey }));

    api.get('/trust/expiry', {
      schema: { summary: "When the coordinator's TLS certificate and its CA expire, and whether that is within the warning threshold", response: { 200: Expiry } },
    }, async () => deps.expiry.statuses());
  }, { prefix: '/v1' });
}
