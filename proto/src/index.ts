export * from './errors/index.js';
export * from './job/index.js';
