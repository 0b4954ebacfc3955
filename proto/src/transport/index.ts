export * from '../gen/medfed/v1/federation.js';
export * from './protocol-version.js';
