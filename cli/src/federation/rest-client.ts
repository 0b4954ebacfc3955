import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { JobSpec } from '@medfed/proto';
import { CliError } from '../fail.js';
import { ExitCode } from '../exit-codes.js';

export interface RoundView {
  round: number; kind: string; status: string; failure: string | null;
  deadline?: string | null; openedAt?: string | null; closedAt?: string | null;
  contributions: { site: string; numSamples: number; sha256: string; byteSize: number; baseRound?: number | null }[];
  /** Semi-asynchronous jobs: the contributions that arrived after their own round closed, counted here (absent from older coordinators). */
  late?: { site: string; staleness: number }[];
}
/** One thing a run waits for (coordinator/src/federation/waiting.ts): a site, why, since when, a code. */
export interface WaitingEntryView {
  site: string; reason: string; since: string | null; detail: string | null;
}
export interface JobViewBody {
  id: string; name: string; owner?: string; status: string; failure: string | null; encrypted?: boolean; createdAt?: string;
  currentRound: number; totalRounds: number; roundsDone: number;
  /** What the run waits for, one entry per site, and the same as one line ('' once it is finished). */
  waiting: WaitingEntryView[];
  waitingSummary: string;
  rounds: RoundView[];
  sites: { id: string; role: string; lastSeenAt?: string | null; samples: number | null; latest: { round: number; loss: number; accuracy: number } | null;
    failures: { round: number; detail: string | null }[] }[];
  figures: { round: number; loss: number; accuracy: number; numSamples: number; source: string }[];
  metrics: { round: number; site: string; phase: string; modelRound: number; loss: number; accuracy: number; numSamples: number }[];
  models: { id: string; round: number; sha256: string; byteSize: number; paramCount: number }[];
}

/** A site as GET /v1/sites answers. */
export interface SiteView {
  id: string; displayName: string; status: string; lastSeenAt: string | null; agentVersion: string | null;
  /** The protocol version its agent last announced, and when (absent from coordinators before version negotiation). */
  protocolVersion?: string | null; versionSeenAt?: string | null;
}

/** A job as GET /v1/jobs lists it. */
export interface JobSummary {
  id: string; name: string; owner: string; status: string; currentRound: number; totalRounds: number; createdAt: string; failure: string | null;
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
/** A JSON call that hears nothing for this long has failed. */
const CALL_IDLE_MS = 60_000;
/** Downloads may pause longer (a large archive being built). */
const DOWNLOAD_IDLE_MS = 10 * 60_000;

/** The coordinator answered, and refused: its `{code, message}`, the HTTP status, and the exit code it maps to. */
export class CoordinatorRefusal extends CliError {
  readonly status: number;
  constructor(status: number, code: string, message: string) {
    // 401 and 403: the credential is missing, expired, revoked or not allowed to do this.
    super(code, message, status === 401 || status === 403 ? ExitCode.AUTH : ExitCode.FAILURE);
    this.status = status;
  }
}

const TLS_UNTRUSTED = /^(UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_UNTRUSTED|CERT_SIGNATURE_FAILURE|CERT_REJECTED)/;

/**
 * Why a request got no answer, in words an operator can act on: the URL, the cause and, for a
 * certificate that is not trusted, the flag that fixes it. Never a bare "fetch failed".
 */
function unreachable(url: string, err: NodeJS.ErrnoException): CliError {
  const code = err.code ?? '';
  const https = url.startsWith('https:');
  const cause = `${code ? `${code}: ` : ''}${err.message}`;
  let why: string;
  if (TLS_UNTRUSTED.test(code)) {
    why = `its TLS certificate is not trusted (${cause}); pass --ca FILE (or set MEDFED_CA_FILE) with the PEM certificate of the CA that signed it (medfed dev-ca writes ca.pem)`;
  } else if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    why = `its TLS certificate is outside its validity period (${cause}); renew the coordinator's certificate or check this machine's clock`;
  } else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    why = `its TLS certificate does not name this host (${cause}); use a host name the certificate names in --coordinator`;
  } else if (code === 'ECONNREFUSED') {
    why = 'connection refused (ECONNREFUSED); check that the coordinator runs and that this is its REST address and port';
  } else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    why = `the host name does not resolve (${code})`;
  } else if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || err.message === 'timed out') {
    why = `no answer (${code || 'timed out'})`;
  } else if (!https && (code === 'ECONNRESET' || code === 'HPE_INVALID_CONSTANT')) {
    why = `the connection was closed without an HTTP answer (${cause}); if the coordinator serves TLS, use an https:// URL`;
  } else if (https && (code === 'EPROTO' || code.startsWith('ERR_SSL_'))) {
    why = `the TLS handshake failed (${cause}); if the coordinator serves plain HTTP, use an http:// URL`;
  } else {
    why = cause;
  }
  return new CliError('COORDINATOR_UNAVAILABLE', `cannot reach the coordinator at ${url}: ${why}`, ExitCode.UNREACHABLE);
}

function readBody(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
  });
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return {}; // not JSON: the refusal falls back to the HTTP status
  }
}

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

  /** The coordinator's base URL as given, for messages. */
  get url(): string {
    return this.base.href.replace(/\/$/, '');
  }

  /** Sends a request; resolves with the response once its head arrived (any status), or rejects as unreachable. */
  private request(method: string, path: string, body: unknown, headers: Record<string, string>, idleMs: number): Promise<IncomingMessage> {
    const url = new URL(`${this.base.pathname.replace(/\/$/, '')}${path}`, this.base);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(url, {
        method,
        headers: { accept: 'application/json', ...headers, ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}) },
        ...(url.protocol === 'https:' && this.ca ? { ca: this.ca } : {}),
        ...(idleMs > 0 ? { timeout: idleMs } : {}),
      }, resolve);
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (err) => reject(unreachable(this.url, err)));
      req.end(payload);
    });
  }

  private async send(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<Response> {
    const res = await this.request(method, path, body, headers, CALL_IDLE_MS);
    return { status: res.statusCode ?? 0, body: parseJson(await readBody(res)) };
  }

  private static refusal(res: Response): CoordinatorRefusal {
    const p = res.body as { code?: unknown; message?: unknown };
    return new CoordinatorRefusal(res.status, typeof p.code === 'string' ? p.code : `HTTP_${res.status}`, typeof p.message === 'string' ? p.message : `HTTP ${res.status}`);
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

  /**
   * A streamed answer (an archive, model bytes, an event stream) once the coordinator accepted the
   * request; a refusal or no answer throws as `call` does. `idleMs` 0: no idle limit (event streams).
   */
  async open(method: string, path: string, options: { accept: string; body?: unknown; idleMs?: number }): Promise<IncomingMessage> {
    const headers = { authorization: `Bearer ${await this.accessToken()}`, accept: options.accept };
    const res = await this.request(method, path, options.body, headers, options.idleMs ?? DOWNLOAD_IDLE_MS);
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return res;
    throw RestClient.refusal({ status, body: parseJson(await readBody(res)) });
  }

  async registerSite(id: string, displayName?: string): Promise<{ id: string; displayName: string; status: string }> {
    return this.call('POST', '/v1/sites', { id, ...(displayName === undefined ? {} : { displayName }) });
  }

  async sites(): Promise<SiteView[]> {
    return (await this.call<{ sites: SiteView[] }>('GET', '/v1/sites')).sites;
  }

  site(id: string): Promise<SiteView> {
    return this.call('GET', `/v1/sites/${encodeURIComponent(id)}`);
  }

  async createJob(spec: JobSpec): Promise<string> {
    return (await this.submitJob(spec)).id;
  }

  /** POST /v1/jobs with a spec as read from a file: the coordinator validates it and fills its defaults. */
  submitJob(spec: unknown): Promise<{ id: string; status: string; currentRound: number }> {
    return this.call('POST', '/v1/jobs', { spec });
  }

  async jobs(): Promise<JobSummary[]> {
    return (await this.call<{ jobs: JobSummary[] }>('GET', '/v1/jobs')).jobs;
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

  /**
   * Ends a site for good. The coordinator has no such route yet (only suspend and reinstate): its
   * "no route" answer becomes SITE_REVOKE_UNSUPPORTED, which says what to do instead.
   */
  /** POST /v1/sites/:id/revoke; a coordinator from before site revocation answers SITE_REVOKE_UNSUPPORTED. */
  async revokeSite(site: string, reason: string): Promise<{ id: string; status: string; revokedAt: string; alreadyRevoked: boolean }> {
    try {
      return await this.call('POST', `/v1/sites/${encodeURIComponent(site)}/revoke`, { reason });
    } catch (err) {
      if (err instanceof CoordinatorRefusal && err.status === 404 && err.code === 'NOT_FOUND' && err.message.startsWith('no route')) {
        throw new CliError('SITE_REVOKE_UNSUPPORTED', `the coordinator at ${this.url} cannot revoke sites (it has no POST /v1/sites/:id/revoke); `
          + `medfed sites suspend ${site} stops every credential of the site until an administrator reinstates it`, ExitCode.FAILURE);
      }
      throw err;
    }
  }

  rotateSigningKey(): Promise<{ kid: string; published: string[] }> {
    return this.call('POST', '/v1/admin/signing-keys/rotate');
  }
}
