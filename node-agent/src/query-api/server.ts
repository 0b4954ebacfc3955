import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { AgentConfig } from '../config/schema.js';
import { optOutPath } from '../data/index.js';
import { AccessLog } from './access-log.js';
import { buildQueryApp } from './app.js';
import { QueryApiError } from './errors.js';
import { authenticator } from './identity/authenticate.js';
import { QueryService } from './query-service.js';

export interface RunningQueryApi {
  readonly url: string;
  readonly accessLog: string;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Starts the hospital's local query API from the agent's configuration (`queryApi`). */
export async function startQueryApi(options: { config: AgentConfig; log: Logger }): Promise<RunningQueryApi> {
  const { config, log } = options;
  const api = config.queryApi;
  if (api === undefined) throw new QueryApiError('QUERY_API_CONFIG_INVALID', 'queryApi is not configured');
  if (config.env === 'production' && !LOOPBACK.has(api.host) && api.tls === undefined) {
    throw new QueryApiError('QUERY_API_CONFIG_INVALID', `queryApi.host ${api.host} is not loopback: production needs queryApi.tls (cert and key)`);
  }
  const stateDir = resolve(config.stateDir);
  const accessLogPath = api.accessLog ?? join(stateDir, 'query-api', 'access.jsonl');
  const service = new QueryService({
    siteId: config.siteId,
    csv: config.data.csv,
    stateDir,
    optOutFile: optOutPath(stateDir, config.data.optOutFile),
    patientIdColumn: config.data.patientIdColumn,
    schemaPath: api.schema,
    policyPath: api.policy,
    privacy: config.privacy,
    maxRecords: api.maxRecords,
  });
  const app = buildQueryApp({
    authenticate: await authenticator(api, stateDir),
    service,
    accessLog: new AccessLog(accessLogPath),
    ...(api.tls === undefined ? {} : { https: { https: { cert: await readFile(api.tls.cert), key: await readFile(api.tls.key) } } }),
    onError: (err) => log.error({ code: (err as { code?: unknown }).code }, `query API request failed: ${(err as Error).message}`),
  });
  const address = await app.listen({ host: api.host, port: api.port });
  return { url: address, accessLog: accessLogPath, close: () => app.close() };
}
