import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { JobSpec } from '@medfed/proto';
import { CliError } from '../fail.js';
import { ExitCode } from '../exit-codes.js';

export interface RoundView {
  round: number; kind: string; status: string; failure: string | null;
  contributions: { site: string; numSamples: number; sha256: string; byteSize: number }[];
}
export interface JobViewBody {
  id: string; name: string; status: string; failure: string | null; currentRound: number; totalRounds: number; roundsDone: number;
  waiting: { summary: string; waitingOn: string[] } | null;
  rounds: RoundView[];
  sites: { id: string; role: string; samples: number | null; latest: { round: number; loss: number; accuracy: number } | null;
    failures: { round: number; detail: string | null }[] }[];
  figures: { round: number; loss: number; accuracy: number; numSamples: number; source: string }[];
  metrics: { round: number; site: string; phase: string; modelRound: number; loss: number; accuracy: number; numSamples: number }[];
  models: { id: string; round: number; sha256: string; byteSize: number; paramCount: number }[];
}

/** An API key (exchanged for short-lived tokens, renewed as they run out) or a ready access token. */
export type RestCredential = { readonly apiKey: string } | { readonly token: string };

export interface RestClientOptions {
  /** PEM CA bundle for an https coordinator (e.g. medfed dev-ca's ca.pem). */
  readonly ca?: Buffer | string | undefined;
}

interface Response {
  status: number;
  body: unknown;
}

/** Renew a token when less than this much of it is left. */
const RENEW_BEFORE_MS = 60_000;

/** The operator REST API as the CLI uses it; errors keep the server's `{code, message}`. */
export class RestClient {
  private readonly base: URL;
  private readonly credential: RestCredential;
  private readonly ca: Buffer | string | undefined;
  private token: { value: string; expiresAt: number } | null = null;

  constructor(base: string, credential: string | RestCredential, options: RestClientOptions = {}) {
    this.base = new URL(base.replace(/\/$/, ''));
    this.credential = typeof credential === 'string' ? { token: credential } : credential;
    this.ca = options.ca;
  }

  private send(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<Response> {
    const url = new URL(`${this.base.pathname.replace(/\/$/, '')}${path}`, this.base);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(url, {
        method,
        headers: { accept: 'application/json', ...headers, ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}) },
        ...(url.protocol === 'https:' && this.ca ? { ca: this.ca } : {}),
        timeout: 60_000,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let parsed: unknown = {};
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch { /* not JSON: keep {} */ }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (err) => reject(new CliError('COORDINATOR_UNAVAILABLE', `cannot reach ${this.base.origin}: ${err.message}`, ExitCode.UNREACHABLE)));
      req.end(payload);
    });
  }

  private static refusal(res: Response): CliError {
    const p = res.body as { code?: string; message?: string };
    const exit = res.status === 401 || res.status === 403 ? ExitCode.AUTH : ExitCode.FAILURE;
    return new CliError(p.code ?? `HTTP_${res.status}`, p.message ?? `HTTP ${res.status}`, exit);
  }

  /** A token with at least a minute left: the API key is exchanged (or the session refreshed) as needed. */
  async accessToken(): Promise<string> {
    if ('token' in this.credential) return this.credential.token;
    if (this.token && this.token.expiresAt - Date.now() > RENEW_BEFORE_MS) return this.token.value;
    let res: Response | null = null;
    if (this.token && this.token.expiresAt > Date.now()) {
      res = await this.send('POST', '/v1/auth/token', { refresh: true }, { authorization: `Bearer ${this.token.value}` });
      if (res.status !== 200) res = null; // an idle or ended session: log in again with the key
    }
    res ??= await this.send('POST', '/v1/auth/token', { api_key: this.credential.apiKey }, {});
    if (res.status !== 200) throw RestClient.refusal(res);
    const t = res.body as { access_token: string; expires_in: number };
    this.token = { value: t.access_token, expiresAt: Date.now() + t.expires_in * 1000 };
    return t.access_token;
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body, { authorization: `Bearer ${await this.accessToken()}` });
    if (res.status < 200 || res.status >= 300) throw RestClient.refusal(res);
    return res.body as T;
  }

  async registerSite(id: string): Promise<void> {
    await this.call('POST', '/v1/sites', { id });
  }

  async sites(): Promise<{ id: string; status: string; lastSeenAt: string | null }[]> {
    return (await this.call<{ sites: { id: string; status: string; lastSeenAt: string | null }[] }>('GET', '/v1/sites')).sites;
  }

  async createJob(spec: JobSpec): Promise<string> {
    return (await this.call<{ id: string }>('POST', '/v1/jobs', { spec })).id;
  }

  job(id: string): Promise<JobViewBody> {
    return this.call<JobViewBody>('GET', `/v1/jobs/${encodeURIComponent(id)}`);
  }

  /** A one-time enrollment code for a site's agent (expires within 24 h). */
  async enrollmentCode(site: string): Promise<{ enrollmentCode: string; expiresAt: string }> {
    return this.call('POST', `/v1/sites/${encodeURIComponent(site)}/enrollment-codes`);
  }

  createApiKey(input: { name: string; role: string; site?: string; expiresInDays?: number }): Promise<{ id: string; apiKey: string; expiresAt: string }> {
    return this.call('POST', '/v1/admin/api-keys', input);
  }

  revokeApiKey(id: string): Promise<{ id: string; revoked: boolean }> {
    return this.call('DELETE', `/v1/admin/api-keys/${encodeURIComponent(id)}`);
  }

  listApiKeys(): Promise<{ keys: unknown[] }> {
    return this.call('GET', '/v1/admin/api-keys');
  }

  setSiteSuspended(site: string, suspended: boolean): Promise<{ id: string; status: string }> {
    return this.call('POST', `/v1/sites/${encodeURIComponent(site)}/${suspended ? 'suspend' : 'reinstate'}`);
  }

  rotateSigningKey(): Promise<{ kid: string; published: string[] }> {
    return this.call('POST', '/v1/admin/signing-keys/rotate');
  }
}
