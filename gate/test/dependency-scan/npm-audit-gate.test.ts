import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { makeTempDir, makeTree, removeTrees } from '../support/fixture-tree.js';

const SCRIPT = fileURLToPath(new URL('../../../scripts/npm-audit-gate.mjs', import.meta.url));
const HOOKS = fileURLToPath(new URL('../../../test/support/source-hooks.mjs', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../vulns/fixtures/', import.meta.url));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let npmCache: string;

/** Runs the script; npm gets a cache of its own so advisories cached elsewhere cannot leak in. */
function auditGate(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    const env = { ...process.env, npm_config_cache: npmCache, npm_config_update_notifier: 'false' };
    execFile(process.execPath, ['--import', HOOKS, SCRIPT, ...args], { timeout: 60_000, env }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

/** A project with one dependency in its lockfile, so npm has something to audit. */
const PROJECT = {
  'package.json': JSON.stringify({ name: 'audit-fixture', version: '1.0.0', dependencies: { 'left-pad': '1.3.0' } }),
  'package-lock.json': JSON.stringify({
    name: 'audit-fixture',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'audit-fixture', version: '1.0.0', dependencies: { 'left-pad': '1.3.0' } },
      'node_modules/left-pad': { version: '1.3.0', resolved: 'https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz' },
    },
  }),
};

type Handler = (request: IncomingMessage, response: ServerResponse) => void;
const servers: Server[] = [];

async function registry(handler: Handler): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let project: string;
beforeAll(async () => {
  project = await makeTree(PROJECT);
  npmCache = await makeTempDir();
});
afterAll(async () => {
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  await removeTrees();
});

describe('scripts/npm-audit-gate.mjs', () => {
  it('puts a saved audit report through the gate: HIGH stops prod', async () => {
    const run = await auditGate(['--report', `${FIXTURES}npm-audit-high.json`, '--env', 'prod', '--json']);
    expect(run.code).toBe(2);
    const decision = JSON.parse(run.stdout);
    expect(decision.decision).toBe('stop');
    // ws carries the advisory; engine.io, vulnerable through ws, is counted as well.
    expect(decision.triggers).toEqual([
      expect.objectContaining({ gate: 'vulnerabilities', trigger: 'severity', subject: 'GHSA-3h5v-q93c-6h6q', action: 'stop', message: expect.stringContaining('in ws ') }),
      expect.objectContaining({ gate: 'vulnerabilities', trigger: 'severity', subject: 'GHSA-3h5v-q93c-6h6q', action: 'stop', message: expect.stringContaining('in engine.io ') }),
    ]);
  });

  it('warns in dev and allows a clean report', async () => {
    expect((await auditGate(['--report', `${FIXTURES}npm-audit-high.json`, '--env', 'dev'])).code).toBe(1);
    expect((await auditGate(['--report', `${FIXTURES}npm-audit-clean.json`, '--env', 'prod'])).code).toBe(0);
  });

  it('a registry that answers the audit request: npm audit results go through the gate', async () => {
    const url = await registry((request, response) => {
      request.resume();
      request.on('end', () => {
        response.writeHead(200, { 'content-type': 'application/json' });
        if (request.method === 'GET') {
          response.end(JSON.stringify({ name: 'left-pad', 'dist-tags': { latest: '1.3.0' }, versions: { '1.3.0': { name: 'left-pad', version: '1.3.0' } } }));
          return;
        }
        response.end(
          JSON.stringify({
            'left-pad': [{ id: 1100001, url: 'https://github.com/advisories/GHSA-2p57-rm9w-gvfp', title: 'test advisory', severity: 'critical', vulnerable_versions: '<=1.3.0', cwe: [] }],
          }),
        );
      });
    });
    const run = await auditGate(['--registry', url, '--cwd', project, '--env', 'prod', '--json']);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout).triggers).toEqual([expect.objectContaining({ subject: 'GHSA-2p57-rm9w-gvfp', severity: 'CRITICAL' })]);
  });

  it('a registry that refuses audits (405): warns that the scan is unavailable and exits 0', async () => {
    const url = await registry((request, response) => {
      request.resume();
      response.writeHead(405, { allow: 'GET, HEAD' });
      response.end();
    });
    const run = await auditGate(['--registry', url, '--cwd', project]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/warning: dependency scan unavailable: .*405/);
  });

  it('a registry that never answers: the call is time-boxed, then the same warning', async () => {
    const url = await registry(() => {
      // never respond
    });
    const started = Date.now();
    const run = await auditGate(['--registry', url, '--cwd', project, '--timeout-ms', '1500']);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/did not answer within 1500 ms/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('refuses a bad --env with exit 2', async () => {
    expect((await auditGate(['--env', 'production'])).code).toBe(2);
  });
});
