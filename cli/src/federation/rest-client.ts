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

/** The operator REST API as the CLI uses it; errors keep the server's `{code, message}`. */
export class RestClient {
  private readonly base: string;
  private readonly token: string;

  constructor(base: string, token: string) {
    this.base = base.replace(/\/$/, '');
    this.token = token;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      throw new CliError('COORDINATOR_UNAVAILABLE', `cannot reach ${this.base}: ${(err as Error).message}`, ExitCode.UNREACHABLE);
    }
    const payload = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
    if (!res.ok) {
      const exit = res.status === 401 || res.status === 403 ? ExitCode.AUTH : ExitCode.FAILURE;
      throw new CliError(payload.code ?? `HTTP_${res.status}`, payload.message ?? res.statusText, exit);
    }
    return payload as T;
  }

  async registerSite(id: string): Promise<void> {
    await this.call('POST', '/v1/sites', { id });
  }

  async createJob(spec: JobSpec): Promise<string> {
    return (await this.call<{ id: string }>('POST', '/v1/jobs', { spec })).id;
  }

  job(id: string): Promise<JobViewBody> {
    return this.call<JobViewBody>('GET', `/v1/jobs/${encodeURIComponent(id)}`);
  }
}
