import type { TokenKeyRing } from '../keys/key-ring.js';
import type { Db } from '../storage/db.js';
import type { AuthSettings } from './settings.js';
import type { TtlCache } from './ttl-cache.js';
import type { AccessTokenClaims } from './tokens/access-token.js';
import type { SessionRow } from './store/sessions.js';
import type { NodeStanding } from './store/site-keys.js';

/** Per-process caches of per-request lookups; see TtlCache for what they may delay and what they never do. */
export interface AuthCaches {
  /** Tokens whose signature and static claims verified (time is checked on every use). */
  readonly tokens: TtlCache<AccessTokenClaims>;
  readonly sessions: TtlCache<SessionRow>;
  readonly standing: TtlCache<NodeStanding>;
}

/** What every auth operation needs: the database, the signing keys, the settings and a clock. */
export interface AuthContext {
  readonly db: Db;
  readonly ring: TokenKeyRing;
  readonly settings: AuthSettings;
  readonly now: () => Date;
  readonly caches: AuthCaches;
}

export const seconds = (d: Date): number => Math.floor(d.getTime() / 1000);
