export type { Caller } from './caller.js';
export { LocalUsers, type LocalUser } from './local-users.js';
export { hospitalTokenVerifier, type HospitalTokenVerifier } from './hospital-jwt.js';
export { authenticator, type Authenticate } from './authenticate.js';
