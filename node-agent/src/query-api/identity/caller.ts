import type { QueryRole } from '../config.js';

/** Who is asking, as the hospital's identity says: never taken from anything the coordinator issued. */
export interface Caller {
  /** The user id (matched against the care-team field for clinicians). */
  readonly userId: string;
  readonly role: QueryRole;
  readonly method: 'oidc' | 'api-key';
}
