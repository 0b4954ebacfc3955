export * from '../gen/medfed/v1/federation.js';
