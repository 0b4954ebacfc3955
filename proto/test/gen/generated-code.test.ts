import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../../..', import.meta.url));

describe('generated protocol code', () => {
  it('is what the .proto files generate today (run `npm run gen:proto` when this fails)', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['scripts/gen-proto.mjs', '--check'], { cwd: root });
    expect(stdout).toContain('generated code is up to date');
  }, 60_000);

  it('the check itself notices a stale file', async () => {
    const { appendFile, cp, mkdtemp, rm } = await import('node:fs/promises');
    const copy = await mkdtemp(`${(await import('node:os')).tmpdir()}/medfed-gen-`);
    try {
      await cp(`${root}/proto/src/gen`, copy, { recursive: true });
      await appendFile(`${copy}/medfed/v1/federation.ts`, '\n// edited by hand\n');
      await expect(promisify(execFile)(process.execPath, ['scripts/gen-proto.mjs', '--check', '--target', copy], { cwd: root }))
        .rejects.toMatchObject({ stderr: expect.stringContaining('stale') });
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  }, 60_000);
});
