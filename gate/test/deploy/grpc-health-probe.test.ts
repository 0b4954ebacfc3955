import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';

const PROBE = fileURLToPath(new URL('../../../deploy/probes/grpc-health-probe.mjs', import.meta.url));

let server: grpc.Server;
let health: HealthImplementation;
let port: number;

beforeAll(async () => {
  server = new grpc.Server();
  health = new HealthImplementation({ '': 'SERVING', 'medfed.v1.Federation': 'NOT_SERVING' });
  health.addToServer(server);
  port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
});
afterAll(() => {
  server.forceShutdown();
});

function probe(args: readonly string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [PROBE, `--addr=127.0.0.1:${port}`, ...args], { timeout: 60_000 }, (error, _stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stderr });
    });
  });
}

describe('deploy/probes/grpc-health-probe.mjs (the coordinator liveness probe)', () => {
  it('exits 0 when grpc.health.v1.Health reports SERVING', async () => {
    expect((await probe(['--plaintext'])).code).toBe(0);
  });

  it('exits 1 for NOT_SERVING, for an unknown service, and when nothing listens', async () => {
    expect(await probe(['--plaintext', '--service=medfed.v1.Federation'])).toMatchObject({ code: 1, stderr: expect.stringMatching(/status 2/) });
    expect((await probe(['--plaintext', '--service=nope'])).code).toBe(1);
    const closed = await new Promise<{ code: number }>((resolve) => {
      execFile(process.execPath, [PROBE, '--addr=127.0.0.1:1', '--plaintext', '--timeout-ms=2000'], (error) => resolve({ code: error ? Number(error.code) : 0 }));
    });
    expect(closed.code).toBe(1);
  });

  it('refuses to run without a CA unless told --plaintext', async () => {
    expect(await probe([])).toMatchObject({ code: 1, stderr: expect.stringMatching(/--ca is required/) });
  });
});
