import type { KeyObject } from 'node:crypto';
import { AuthError, publicKeyFromJwk } from '@medfed/proto/auth/index';
import type { PublishedJwk, SigningKeyStore, TokenSigningKey } from './signing-key.js';

export interface KeyRingOptions {
  /** The longest lifetime of any token these keys sign, in seconds: how long a retired key stays published. */
  readonly maxTokenSeconds: number;
  /** Clock skew added to the overlap. */
  readonly skewSeconds: number;
  /** Rotate the active key automatically once it is this old (seconds); 0 turns automatic rotation off. */
  readonly rotateAfterSeconds: number;
}

interface Verifier {
  readonly key: KeyObject;
  readonly alg: 'EdDSA' | 'ES256';
}

/**
 * The coordinator's token signing keys: one active key signs; retired keys stay published (and accepted)
 * until every token they signed has expired, then they are dropped. Lookups by kid never reach outside
 * this ring, so an unknown kid costs one map lookup and never triggers a fetch.
 */
export class TokenKeyRing {
  readonly #store: SigningKeyStore;
  readonly #options: KeyRingOptions;
  #keys: TokenSigningKey[] = [];
  #verifiers = new Map<string, Verifier>();
  #rotating: Promise<TokenSigningKey> | null = null;

  private constructor(store: SigningKeyStore, options: KeyRingOptions) {
    this.#store = store;
    this.#options = options;
  }

  static async open(store: SigningKeyStore, options: KeyRingOptions, now = new Date()): Promise<TokenKeyRing> {
    const ring = new TokenKeyRing(store, options);
    ring.#install(await store.list());
    if (!ring.#keys.some((k) => k.retiredAt === null)) ring.#install([...ring.#keys, await store.create(now)]);
    await ring.maintain(now);
    return ring;
  }

  /** The key that signs now. */
  active(): TokenSigningKey {
    const active = this.#keys.filter((k) => k.retiredAt === null).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
    if (!active) throw new AuthError('AUTH_SIGNING_KEY_INVALID', 'no active token signing key');
    return active;
  }

  /** The verification key for a kid, if that kid is published; never fetched from anywhere. */
  verifier(kid: string): Verifier | undefined {
    return this.#verifiers.get(kid);
  }

  /** The JWKS: the active key and retired keys still inside their overlap. */
  jwks(): { keys: PublishedJwk[] } {
    return { keys: this.#keys.map((k) => k.publicJwk) };
  }

  /** Starts signing with a new key; the previous one stays published for the overlap. */
  async rotate(now = new Date()): Promise<TokenSigningKey> {
    this.#rotating ??= (async () => {
      const previous = this.#keys.filter((k) => k.retiredAt === null);
      const fresh = await this.#store.create(now);
      for (const k of previous) await this.#store.retire(k.kid, now);
      this.#install(await this.#store.list());
      return fresh;
    })().finally(() => { this.#rotating = null; });
    return this.#rotating;
  }

  /** Rotates a key past its age and drops retired keys whose tokens have all expired. */
  async maintain(now = new Date()): Promise<void> {
    const { rotateAfterSeconds, maxTokenSeconds, skewSeconds } = this.#options;
    if (rotateAfterSeconds > 0 && now.getTime() - this.active().createdAt.getTime() >= rotateAfterSeconds * 1000) await this.rotate(now);
    const overlapMs = (maxTokenSeconds + skewSeconds) * 1000;
    const expired = this.#keys.filter((k) => k.retiredAt !== null && now.getTime() - k.retiredAt.getTime() > overlapMs);
    if (expired.length === 0) return;
    for (const k of expired) await this.#store.remove(k.kid);
    this.#install(this.#keys.filter((k) => !expired.includes(k)));
  }

  #install(keys: TokenSigningKey[]): void {
    this.#keys = keys;
    this.#verifiers = new Map(keys.map((k) => [k.kid, { key: publicKeyFromJwk(k.publicJwk), alg: k.publicJwk.alg }]));
  }
}
