import { describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { AUTH_ERRORS } from '@medfed/proto/auth/index';
import { POLICY } from '../../src/auth/policy/policy.js';

const DOC = new URL('../../../docs/auth.md', import.meta.url);

function describeAccess(access: (typeof POLICY.entries)[number]['access']): string {
  if (access === 'public') return 'open';
  return access.map((g) => (g.scope === 'any' ? g.role : g.scope === 'own-site' ? `${g.role} (own site)` : `${g.role} (own site, listed)`)).join(', ');
}

describe('docs/auth.md', () => {
  it('prints exactly the policy in force', async () => {
    const rows = (await readFile(DOC, 'utf8')).split('\n').filter((l) => /^\| (rest|grpc) \| `/.test(l));
    const expected = POLICY.entries.map((e) => `| ${e.transport} | \`${e.operation}\` | \`${e.rule}\` | ${describeAccess(e.access)} |`);
    expect(rows).toEqual(expected);
  });

  it('lists every refusal code with its HTTP status', async () => {
    const doc = await readFile(DOC, 'utf8');
    for (const [code, spec] of Object.entries(AUTH_ERRORS)) expect(doc).toContain(`| \`${code}\` | ${spec.http} |`);
  });
});
