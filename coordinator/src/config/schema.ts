import Type, { type Static } from 'typebox';

const Port = Type.Integer({ minimum: 0, maximum: 65_535 });

/** Every setting of `medfed coordinator start`, from a file, then the environment, then flags. */
export const CoordinatorConfigSchema = Type.Object({
  env: Type.Union([Type.Literal('development'), Type.Literal('production')], { default: 'development' }),
  rest: Type.Object({
    host: Type.String({ minLength: 1, default: '127.0.0.1' }),
    port: Port,
  }, { additionalProperties: false, default: { port: 8080 } }),
  grpc: Type.Object({
    host: Type.String({ minLength: 1, default: '127.0.0.1' }),
    port: Port,
  }, { additionalProperties: false, default: { port: 9090 } }),
  /** PostgreSQL URL; without one the coordinator runs embedded PGlite in `dataDir/db`. */
  databaseUrl: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  dataDir: Type.String({ minLength: 1, default: './medfed-data' }),
  /** Keep the embedded database in memory (demo, simulate, tests). */
  inMemoryDatabase: Type.Boolean({ default: false }),
  logLevel: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
  maxUpdateBytes: Type.Integer({ minimum: 1024, maximum: 4 * 1024 ** 3, default: 512 * 1024 ** 2 }),
  /** REST request body limit (JSON routes). */
  bodyLimitBytes: Type.Integer({ minimum: 1024, maximum: 64 * 1024 ** 2, default: 1024 ** 2 }),
  /** Seconds between deadline checks. */
  tickSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 60, default: 1 }),
}, { additionalProperties: false });

export type CoordinatorConfig = Static<typeof CoordinatorConfigSchema>;
