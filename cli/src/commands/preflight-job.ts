import { readFile } from 'node:fs/promises';
import { MedfedError, type JobSpec } from '@medfed/proto';
import { ApprovalStore } from '@medfed/node-agent/approvals/index';
import { connect, coordinatorUrl } from '../coordinator-connection.js';

/**
 * Where `medfed agent preflight --job` finds the job's specification. The agent's own gRPC
 * credentials fetch a spec only inside a task (there is no call for it before round 0), so:
 * `--spec FILE` (the spec as submitted, or `GET /v1/jobs/:id`'s body); else the spec the coordinator
 * announced to this agent while the job awaits the steward's approval (`medfed agent approvals`);
 * else the REST API, `GET /v1/jobs/:id`, with a site steward's API key for this site.
 */
export interface JobSource {
  readonly id?: string | undefined;
  readonly specFile?: string | undefined;
  /** The coordinator's REST URL (default as for `medfed runs`: MEDFED_COORDINATOR_URL, then http://127.0.0.1:8080). */
  readonly rest?: string | undefined;
  readonly keyFile?: string | undefined;
}

export interface FoundSpec {
  readonly spec: JobSpec;
  /** Where it came from, for the check's detail. */
  readonly from: string;
}

export class JobSpecUnavailable extends MedfedError {}

export async function findJobSpec(source: JobSource, agent: { stateDir: string; ca?: string | undefined }): Promise<FoundSpec> {
  if (source.specFile !== undefined) return { spec: await readSpecFile(source.specFile), from: source.specFile };
  if (source.id === undefined) throw new JobSpecUnavailable('PREFLIGHT_JOB_SPEC_UNAVAILABLE', 'give --job ID or --spec FILE');
  const announced = await announcedSpec(source.id, agent.stateDir);
  if (announced !== undefined) return announced;
  let base = source.rest ?? 'the coordinator';
  try {
    // Flags, environment and key-file rules as every REST command has them (coordinator-connection.ts).
    const flags = { coordinator: source.rest, keyFile: source.keyFile, ca: agent.ca };
    base = coordinatorUrl(flags, process.env)!;
    const { client } = await connect(flags);
    const body = await client.call<{ spec?: unknown }>('GET', `/v1/jobs/${encodeURIComponent(source.id)}`);
    return { spec: asJobSpec(body.spec, `job ${source.id} from ${base}`), from: `${base} (GET /v1/jobs/${source.id})` };
  } catch (err) {
    if (err instanceof JobSpecUnavailable) throw err;
    const code = err instanceof MedfedError ? err.code : 'ERROR';
    throw new JobSpecUnavailable('PREFLIGHT_JOB_SPEC_UNAVAILABLE',
      `job ${source.id} was not announced to this agent, and ${base} did not give its spec (${code}: ${(err as Error).message})`);
  }
}

/** The spec of a job waiting for this site's approval, as the coordinator announced it (no network, no key). */
async function announcedSpec(id: string, stateDir: string): Promise<FoundSpec | undefined> {
  // An unreadable approvals file is for `medfed agent approvals` to report; the REST API may still answer.
  const announcement = await new ApprovalStore(stateDir).announcement(id).catch(() => undefined);
  if (announcement === undefined) return undefined;
  return { spec: asJobSpec(announcement.spec, `the announced spec of job ${id}`), from: 'announced to this agent, awaiting the steward\'s approval' };
}

async function readSpecFile(file: string): Promise<JobSpec> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new JobSpecUnavailable('PREFLIGHT_JOB_SPEC_UNAVAILABLE', `cannot read --spec ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new JobSpecUnavailable('PREFLIGHT_JOB_SPEC_UNAVAILABLE', `--spec ${file} is not JSON`);
  }
  const wrapped = isObject(raw) && isObject(raw.spec) && !('features' in raw) ? raw.spec : raw;
  return asJobSpec(wrapped, `--spec ${file}`);
}

/** Only what the data check reads is checked here; the coordinator validated the rest when the job was created. */
export function asJobSpec(raw: unknown, where: string): JobSpec {
  const invalid = (what: string): never => {
    throw new JobSpecUnavailable('PREFLIGHT_JOB_SPEC_UNAVAILABLE', `${where} is not a job spec: ${what}`);
  };
  if (!isObject(raw)) return invalid('expected a JSON object (the spec as submitted, or the body of GET /v1/jobs/:id)');
  if (typeof raw.name !== 'string') invalid('"name" must be a string');
  if (raw.kind === 'statistics') return raw as unknown as JobSpec;
  if (!isStringList(raw.features) || raw.features.length === 0) invalid('"features" must be a non-empty list of column names');
  if (typeof raw.label !== 'string' || raw.label === '') invalid('"label" must be a column name');
  if (!isStringList(raw.classes)) invalid('"classes" must be a list of label values');
  return raw as unknown as JobSpec;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}
