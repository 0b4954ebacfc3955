import * as grpc from '@grpc/grpc-js';
import {
  createClientAssertion, createDpopProof, GRPC_AUTHORIZATION, GRPC_DPOP, GRPC_HTM, grpcHtu, SCHEME_DPOP,
} from '@medfed/proto/auth/index';
import { FederationService } from '@medfed/proto';
import type { AgentIdentity, AgentKey } from './identity-files.js';

/** The coordinator's token endpoint as the agent calls it (gRPC IssueToken, unauthenticated). */
export type IssueToken = (assertion: string, metadata: grpc.Metadata) => Promise<{ accessToken: string; expiresIn: number }>;

interface CachedToken {
  readonly token: string;
  readonly expiresAt: number; // ms
  readonly lifetimeMs: number;
}

/**
 * The agent's credentials: a key-bound access token (obtained with a client assertion and a DPoP proof,
 * renewed before it expires) and a fresh DPoP proof for every call. A call that may run long (an upload)
 * asks for a token with enough life left, so a renewal never cuts it.
 */
export class NodeCredentials {
  readonly #identity: AgentIdentity;
  #key: AgentKey;
  readonly #authority: string;
  readonly #issue: IssueToken;
  #cached: CachedToken | null = null;
  #pending: Promise<CachedToken> | null = null;

  constructor(options: { identity: AgentIdentity; key: AgentKey; authority: string; issue: IssueToken }) {
    this.#identity = options.identity;
    this.#key = options.key;
    this.#authority = options.authority;
    this.#issue = options.issue;
  }

  get siteId(): string {
    return this.#identity.siteId;
  }

  get key(): AgentKey {
    return this.#key;
  }

  get authority(): string {
    return this.#authority;
  }

  /** A DPoP proof by the agent key (or `key`) for a call of `methodPath`. */
  proof(methodPath: string, accessToken?: string, key: AgentKey = this.#key): string {
    return createDpopProof({
      privateKey: key.privateKey, publicJwk: key.publicJwk, htm: GRPC_HTM, htu: grpcHtu(this.#authority, methodPath),
      ...(accessToken !== undefined ? { accessToken } : {}),
    });
  }

  /**
   * Metadata for one call: `authorization: DPoP <token>` and `dpop: <proof>`. `minValidityMs` is how much
   * life the token must still have (default: a third of its lifetime but at least 30 s, and at most half).
   */
  async metadataFor(methodPath: string, minValidityMs?: number): Promise<grpc.Metadata> {
    const token = await this.#token(minValidityMs);
    const md = new grpc.Metadata();
    md.set(GRPC_AUTHORIZATION, `${SCHEME_DPOP} ${token.token}`);
    md.set(GRPC_DPOP, this.proof(methodPath, token.token));
    return md;
  }

  /** How long a token lives, once one was issued (0 before). */
  get tokenLifetimeMs(): number {
    return this.#cached?.lifetimeMs ?? 0;
  }

  /** Forgets the token (after a refusal that says it expired, or after a key rotation). */
  invalidate(): void {
    this.#cached = null;
  }

  /** Starts using a new key (after RotateKey): the next call gets a token bound to it. */
  useKey(key: AgentKey): void {
    this.#key = key;
    this.#cached = null;
  }

  async #token(minValidityMs?: number): Promise<CachedToken> {
    const c = this.#cached;
    const lifetime = c?.lifetimeMs ?? 0;
    const need = minValidityMs ?? Math.min(lifetime / 2, Math.max(30_000, lifetime / 3));
    if (c && c.expiresAt - Date.now() > need) return c;
    this.#pending ??= this.#fetch().finally(() => { this.#pending = null; });
    return this.#pending;
  }

  async #fetch(): Promise<CachedToken> {
    const assertion = createClientAssertion({
      privateKey: this.#key.privateKey, siteId: this.#identity.siteId, audience: this.#identity.issuer, keyThumbprint: this.#key.jkt,
    });
    const md = new grpc.Metadata();
    md.set(GRPC_DPOP, this.proof(FederationService.issueToken.path));
    const requestedAt = Date.now();
    const issued = await this.#issue(assertion, md);
    const lifetimeMs = issued.expiresIn * 1000;
    this.#cached = { token: issued.accessToken, expiresAt: requestedAt + lifetimeMs, lifetimeMs };
    return this.#cached;
  }
}
