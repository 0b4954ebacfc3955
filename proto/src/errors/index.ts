export { MedfedError, GrpcStatus, type ErrorSpec, type ErrorTable } from './medfed-error.js';
