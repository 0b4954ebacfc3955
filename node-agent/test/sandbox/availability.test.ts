import { describe, expect, it } from '@jest/globals';
import { diagnoseProbeFailure, nodeRuntimeCheck, TRAINER_NODE_MAJOR } from '../../src/sandbox/availability.js';

// The classification behind `medfed agent preflight` and the demo's sandbox notice: each cause of a
// failed probe must be named as itself, never as a different one with the wrong fix.
describe('sandbox availability: the Node.js runtime', () => {
  it.each(['v20.20.2', 'v22.12.0', 'v23.11.1'])('refuses %s as too old, with the npm / npx fix', (version) => {
    const check = nodeRuntimeCheck(version);
    expect(check).toMatchObject({ name: 'node', ok: false });
    expect(check.detail).toBe(`Node.js ${version} is too old for the sandboxed trainer: it needs >= ${TRAINER_NODE_MAJOR} (run through npm / npx so the project's Node ${TRAINER_NODE_MAJOR} is used)`);
    expect(check.fix).toMatch(/npm start, npx medfed/);
    expect(check.detail).not.toMatch(/namespace/);
  });

  it.each(['v24.0.0', 'v24.21.0', 'v25.1.0'])('accepts %s', (version) => {
    expect(nodeRuntimeCheck(version)).toEqual({ name: 'node', ok: true, detail: `Node.js ${version}` });
  });

  it('checks the Node.js running these tests by default', () => {
    expect(nodeRuntimeCheck().detail).toContain(process.version);
  });
});

describe('sandbox availability: a failed probe', () => {
  it('blames the Node.js version, not user namespaces, when node rejects the permission flags', () => {
    // What Node.js 20 prints when bubblewrap starts it with the trainer's flags.
    const check = diagnoseProbeFailure(9, '/opt/medfed/runtime/node: bad option: --permission');
    expect(check).toMatchObject({ name: 'node', ok: false });
    expect(check.detail).toMatch(/^Node\.js v\d+\.\d+\.\d+ is too old for the sandboxed trainer: it needs >= 24 .*\(exit 9: \/opt\/medfed\/runtime\/node: bad option: --permission\)$/);
    expect(check.fix).toMatch(/npm or npx/);
    expect(check.fix).not.toMatch(/user_namespaces|sysctl/);
  });

  it.each([
    ['bwrap: No permissions to create new namespace, likely because the kernel does not allow non-privileged user namespaces', /user namespaces are blocked/],
    ['bwrap: setting up uid map: Permission denied', /user namespaces are blocked/],
    ['bwrap: Creating new namespace failed: Operation not permitted', /user namespaces are blocked/],
    ['bwrap: mount: Operation not permitted', /a namespace or mount operation was refused/],
  ])('names blocked namespaces for %s, with the sysctl fix', (output, detail) => {
    const check = diagnoseProbeFailure(1, output);
    expect(check).toMatchObject({ name: 'namespaces', ok: false });
    expect(check.detail).toMatch(detail);
    expect(check.fix).toMatch(/sysctl -w user\.max_user_namespaces/);
  });

  it('names a missing library as such', () => {
    const check = diagnoseProbeFailure(127, '/opt/medfed/runtime/node: error while loading shared libraries: libatomic.so.1: cannot open shared object file');
    expect(check.detail).toMatch(/^a library of node or prlimit is not visible inside the sandbox/);
    expect(check.fix).toMatch(/ldd/);
  });

  it('says the probe failed, with its output, when the cause is unknown', () => {
    expect(diagnoseProbeFailure(3, 'something else\nsecond line').detail).toBe('the probe failed (exit 3: something else)');
  });
});
