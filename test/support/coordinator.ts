import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadCoordinatorConfig, startCoordinator, type RunningCoordinator } from '@medfed/coordinator';
import { freshDatabase, type Backend, type TestDb } from '../../coordinator/test/support/databases.js';

export interface TestCoordinator {
  readonly coordinator: RunningCoordinator;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/** A real coordinator on loopback ports, over a fresh PostgreSQL database or in-memory PGlite. */
export async function startTestCoordinator(backend: Backend, overrides: Record<string, unknown> = {}): Promise<TestCoordinator> {
  const dataDir = await mkdtemp(join(tmpdir(), 'medfed-coord-'));
  let testDb: TestDb | null = null;
  if (backend === 'postgres') testDb = await freshDatabase('postgres', { migrate: false });
  const config = await loadCoordinatorConfig({
    env: {},
    overrides: {
      'rest.port': 0, 'grpc.port': 0, dataDir, inMemoryDatabase: true, logLevel: 'silent', tickSeconds: 0.2,
      databaseUrl: testDb?.url, ...overrides,
    },
  });
  const coordinator = await startCoordinator(config, pino({ level: 'silent' }));
  return {
    coordinator,
    dataDir,
    async stop() {
      await coordinator.close();
      if (testDb) {
        // the coordinator closed its own pool; drop the database through a new admin connection
        await testDb.drop().catch(() => {});
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
