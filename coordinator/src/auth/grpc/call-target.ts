import { GRPC_AUTHORIZATION, GRPC_DPOP, GRPC_HTM, grpcHtu } from '@medfed/proto/auth/index';
import type * as grpc from '@grpc/grpc-js';
import type { ProofTarget } from '../nodes/verify-proof.js';
import type { PresentedCredentials } from '../authenticate.js';
import type { AuthSettings } from '../settings.js';

function first(metadata: grpc.Metadata, key: string): string | undefined {
  const v = metadata.get(key)[0];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** Where a DPoP proof for this call must point: POST and https://AUTHORITY/package.Service/Method. */
export function callProofTarget(settings: AuthSettings, path: string): ProofTarget {
  // Configured authorities, else (development) the address this coordinator bound; never the call's :authority.
  const authorities = settings.grpcAuthorities.length > 0 ? settings.grpcAuthorities : settings.selfOrigins?.grpc ?? [];
  return { htm: GRPC_HTM, htu: authorities.map((a) => grpcHtu(a, path)) };
}

export function callCredentials(settings: AuthSettings, metadata: grpc.Metadata, path: string): PresentedCredentials {
  return {
    authorization: first(metadata, GRPC_AUTHORIZATION),
    dpop: first(metadata, GRPC_DPOP),
    proofTarget: callProofTarget(settings, path),
  };
}

export function dpopOf(metadata: grpc.Metadata): string | undefined {
  return first(metadata, GRPC_DPOP);
}
