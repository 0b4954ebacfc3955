export { QUERY_API_ERRORS, QueryApiError, type QueryApiErrorCode } from './errors.js';
export { QueryApiConfigSchema, OidcConfigSchema, QUERY_ROLES, type QueryApiConfig, type OidcConfig, type QueryRole } from './config.js';
export { startQueryApi, type RunningQueryApi } from './server.js';
export { buildQueryApp, type QueryAppOptions } from './app.js';
export { QueryService, type QueryServiceOptions, type RecordsQuery, type AggregatesQuery } from './query-service.js';
export { AccessLog, type AccessEntry } from './access-log.js';
export * from './identity/index.js';
