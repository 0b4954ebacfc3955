// One Jest run over every workspace. TypeScript sources are transformed by SWC (ESM out),
// workspace packages resolve to their sources so tests never need a stale build.
const swc = ['@swc/jest', {
  jsc: { parser: { syntax: 'typescript' }, target: 'es2023' },
  module: { type: 'es6' },
  sourceMaps: 'inline',
}];

export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^@medfed/([a-z-]+)$': '<rootDir>/$1/src/index.ts',
    '^@medfed/([a-z-]+)/(.*)\\.js$': '<rootDir>/$1/src/$2.ts',
    '^@medfed/([a-z-]+)/(.*)$': '<rootDir>/$1/src/$2.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testMatch: ['<rootDir>/{proto,gate,coordinator,node-agent,cli,test}/test/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  reporters: ['default', '<rootDir>/scripts/summary-reporter.mjs'],
  // A ceiling, not a budget: many tests start coordinators, agents, PostgreSQL databases or sandboxes, and
  // on two cores shared with other work they take twice as long; a test that passes never waits for it.
  testTimeout: 120_000,
  // One worker per core: more would only make each slow test slower.
  maxWorkers: 2,
};
