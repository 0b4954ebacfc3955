import type * as grpc from '@grpc/grpc-js';
import {
  FederationService, type EnrollKeyRequest, type EnrollKeyResponse, type IssueTokenRequest, type IssueTokenResponse,
  type RotateKeyRequest, type RotateKeyResponse,
} from '@medfed/proto';
import { AuthError, SCHEME_DPOP } from '@medfed/proto/auth/index';
import type { Logger } from 'pino';
import type { AuthService } from '../auth-service.js';
import { callProofTarget, dpopOf } from './call-target.js';
import { callPrincipal } from './interceptor.js';
import { refusalError } from './status.js';

type Unary<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => void;

/** The three identity RPCs of medfed.v1.Federation: EnrollKey and IssueToken (open), RotateKey (node). */
export function authHandlers(auth: AuthService, log: Logger): {
  enrollKey: Unary<EnrollKeyRequest, EnrollKeyResponse>;
  issueToken: Unary<IssueTokenRequest, IssueTokenResponse>;
  rotateKey: Unary<RotateKeyRequest, RotateKeyResponse>;
} {
  const unary = <Req, Res>(name: string, fn: (call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>): Unary<Req, Res> =>
    (call, cb) => {
      fn(call).then((res) => cb(null, res), (err: unknown) => {
        log.info({ code: (err as { code?: string }).code, method: name }, 'identity call refused');
        cb(refusalError(err));
      });
    };

  return {
    enrollKey: unary('EnrollKey', async (call) => {
      const target = callProofTarget(auth.settings, FederationService.enrollKey.path);
      const { jkt } = await auth.enrollKey(call.request.siteId, call.request.enrollmentCode, dpopOf(call.metadata), target);
      log.info({ site: call.request.siteId, jkt, agentVersion: call.request.agentVersion.slice(0, 64) }, 'site key enrolled');
      return { siteId: call.request.siteId, keyThumbprint: jkt, issuer: auth.settings.issuer };
    }),

    issueToken: unary('IssueToken', async (call) => {
      const target = callProofTarget(auth.settings, FederationService.issueToken.path);
      const issued = await auth.issueNodeToken(call.request.clientAssertion, dpopOf(call.metadata), target);
      return { accessToken: issued.token, tokenType: SCHEME_DPOP, expiresIn: issued.expiresIn };
    }),

    rotateKey: unary('RotateKey', async (call) => {
      const principal = callPrincipal(call.metadata);
      if (!principal) throw new AuthError('AUTH_CREDENTIAL_MISSING', 'RotateKey needs the current key\'s token and DPoP proof');
      const target = callProofTarget(auth.settings, FederationService.rotateKey.path);
      const { jkt } = await auth.rotateKey(principal, call.request.newKeyProof, target);
      log.info({ site: principal.site, jkt }, 'site key rotated');
      return { siteId: principal.site ?? '', keyThumbprint: jkt };
    }),
  };
}
