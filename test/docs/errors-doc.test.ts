import { describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { ERROR_CATALOG, renderErrorsDoc } from '../../cli/src/error-catalog.js';
import { ExitCode } from '../../cli/src/exit-codes.js';

describe('docs/errors.md', () => {
  it('is exactly what the error tables and exit codes generate (run `npm run gen:errors` after changing a code)', async () => {
    const doc = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    expect(doc).toBe(renderErrorsDoc());
  });

  it('lists every code of every table and every exit code', async () => {
    const doc = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const codes = ERROR_CATALOG.flatMap(({ table }) => Object.keys(table));
    expect(codes.length).toBeGreaterThan(150);
    for (const code of codes) expect(doc).toContain(`| \`${code}\` |`);
    for (const [name, code] of Object.entries(ExitCode)) expect(doc).toContain(`| ${code} | ${name} |`);
  });

  it('gives each code one meaning across areas', () => {
    const seen = new Map<string, string>();
    for (const { table } of ERROR_CATALOG) {
      for (const [code, spec] of Object.entries(table)) {
        const key = `${spec.http}/${spec.grpc}`;
        if (seen.has(code)) expect(`${code} ${seen.get(code)}`).toBe(`${code} ${key}`);
        seen.set(code, key);
      }
    }
  });
});
