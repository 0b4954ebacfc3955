import { AuthError } from '@medfed/proto/auth/index';
import type { Logger } from 'pino';
import type { AuthService } from './auth-service.js';

/**
 * A current admin access token for in-process callers (tests, embedding code): a login with the bootstrap
 * key at start, renewed at half the token lifetime, so `current()` always returns a valid token. It never
 * leaves the process.
 */
export class AdminTokenSource {
  readonly #auth: AuthService;
  readonly #key: string | null;
  readonly #log: Logger;
  #token = '';
  #timer: NodeJS.Timeout | undefined;

  private constructor(auth: AuthService, key: string | null, log: Logger) {
    this.#auth = auth;
    this.#key = key;
    this.#log = log;
  }

  static async start(auth: AuthService, key: string | null, log: Logger): Promise<AdminTokenSource> {
    const source = new AdminTokenSource(auth, key, log);
    if (key) {
      await source.#refresh();
      source.#timer = setInterval(() => void source.#refresh().catch((err: unknown) => log.error({ err }, 'admin token refresh failed')),
        Math.max(1000, (auth.settings.personTokenSeconds * 1000) / 2));
      source.#timer.unref();
    }
    return source;
  }

  current(): string {
    if (!this.#key) throw new AuthError('AUTH_API_KEY_REVOKED', 'the bootstrap admin key was revoked; no in-process admin token is available');
    return this.#token;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Renews within the same session while it lives; logs in again (a new session) when it has ended. */
  async #refresh(): Promise<void> {
    if (this.#token) {
      try {
        const principal = await this.#auth.authenticate({ authorization: `Bearer ${this.#token}`, dpop: undefined, proofTarget: { htm: 'POST', htu: [] } });
        if (principal) {
          this.#token = (await this.#auth.refreshSession(principal)).token;
          return;
        }
      } catch (err) {
        this.#log.debug({ code: (err as { code?: string }).code }, 'admin session ended; logging in again');
      }
    }
    this.#token = (await this.#auth.loginWithApiKey(this.#key)).token;
  }
}
