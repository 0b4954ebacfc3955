import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadCoordinatorConfig, startCoordinator, type RunningCoordinator } from '@medfed/coordinator';
import type { CoordinatorHooks } from '@medfed/coordinator/server';
import { freshDatabase, type Backend, type TestDb } from '../../coordinator/test/support/databases.js';

export interface TestCoordinator {
  readonly coordinator: RunningCoordinator;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/**
 * A real coordinator on loopback ports, over a fresh PostgreSQL database or in-memory PGlite.
 * REST always requires credentials (`coordinator.adminToken` is a current admin Bearer token). By default
 * gRPC runs in the development mode where a call without any credential acts as the site it names
 * (`auth.allowAnonymousNodes`), for tests that drive the round engine directly; a presented credential is
 * still fully verified. Pass `{ 'auth.allowAnonymousNodes': false }` for the production behaviour.
 */
export async function startTestCoordinator(backend: Backend, overrides: Record<string, unknown> = {}, hooks: CoordinatorHooks = {}): Promise<TestCoordinator> {
  const dataDir = await mkdtemp(join(tmpdir(), 'medfed-coord-'));
  let testDb: TestDb | null = null;
  if (backend === 'postgres') testDb = await freshDatabase('postgres', { migrate: false });
  const config = await loadCoordinatorConfig({
    env: {},
    overrides: {
      'rest.port': 0, 'grpc.port': 0, dataDir, inMemoryDatabase: true, logLevel: process.env.MEDFED_TEST_LOG ?? 'silent', tickSeconds: 0.2,
      'auth.allowAnonymousNodes': true,
      databaseUrl: testDb?.url, ...overrides,
    },
  });
  const coordinator = await startCoordinator(config, pino({ level: process.env.MEDFED_TEST_LOG ?? 'silent' }), hooks);
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
