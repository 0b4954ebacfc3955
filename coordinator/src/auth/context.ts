import type { TokenKeyRing } from '../keys/key-ring.js';
import type { Db } from '../storage/db.js';
import type { AuthSettings } from './settings.js';

/** What every auth operation needs: the database, the signing keys, the settings and a clock. */
export interface AuthContext {
  readonly db: Db;
  readonly ring: TokenKeyRing;
  readonly settings: AuthSettings;
  readonly now: () => Date;
}

export const seconds = (d: Date): number => Math.floor(d.getTime() / 1000);
