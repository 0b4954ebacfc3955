import { describe, expect, it } from '@jest/globals';
import { chmod, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateAgentKey, identityPaths, loadAgentIdentity, saveAgentIdentity, type AgentIdentity } from '../../src/identity/index.js';

const identityFor = (jkt: string): AgentIdentity => ({
  siteId: 'site-a', issuer: 'https://coordinator', keyThumbprint: jkt, coordinator: '127.0.0.1:9090', enrolledAt: new Date().toISOString(),
});

describe('the agent key and identity files', () => {
  it('keeps the private key in a 0600 file in a 0700 directory and loads it back', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'medfed-id-'));
    const key = generateAgentKey();
    await saveAgentIdentity(stateDir, key, identityFor(key.jkt));
    const paths = identityPaths(stateDir);
    expect((await stat(paths.key)).mode & 0o777).toBe(0o600);
    expect((await stat(paths.identity)).mode & 0o777).toBe(0o600);
    expect((await stat(paths.dir)).mode & 0o777).toBe(0o700);
    const loaded = await loadAgentIdentity(stateDir);
    expect(loaded.key.jkt).toBe(key.jkt);
    expect(loaded.identity.siteId).toBe('site-a');
    expect(await readFile(paths.identity, 'utf8')).not.toContain('PRIVATE');
  });

  it('gives each key its own thumbprint', () => {
    const seen = new Set(Array.from({ length: 20 }, () => generateAgentKey().jkt));
    expect(seen.size).toBe(20);
  });

  it('refuses to use a key others can read, a missing enrollment, or an identity that names another key', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'medfed-id-'));
    await expect(loadAgentIdentity(stateDir)).rejects.toMatchObject({ code: 'AUTH_IDENTITY_MISSING' });
    const key = generateAgentKey();
    await saveAgentIdentity(stateDir, key, identityFor(key.jkt));
    const paths = identityPaths(stateDir);
    await chmod(paths.key, 0o640);
    await expect(loadAgentIdentity(stateDir)).rejects.toMatchObject({ code: 'AUTH_IDENTITY_INVALID', message: expect.stringMatching(/chmod 600/) });
    await chmod(paths.key, 0o600);
    await writeFile(paths.identity, JSON.stringify(identityFor(generateAgentKey().jkt)), { mode: 0o600 });
    await expect(loadAgentIdentity(stateDir)).rejects.toMatchObject({ code: 'AUTH_IDENTITY_INVALID' });
    await writeFile(paths.key, 'not a key', { mode: 0o600 });
    await expect(loadAgentIdentity(stateDir)).rejects.toMatchObject({ code: 'AUTH_IDENTITY_INVALID' });
  });
});
