import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** A scratch folder per test file, for CSV and schema files. */
export async function scratch(): Promise<{ file: (name: string, text: string) => Promise<string>; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'medfed-data-'));
  return {
    file: async (name, text) => {
      const filePath = path.join(dir, name);
      await writeFile(filePath, text, 'utf8');
      return filePath;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
