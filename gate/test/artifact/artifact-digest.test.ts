import { afterAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { artifactDigest, readArtifact } from '../../src/index.js';
import { CLEAN_DIGEST, CLEAN_FILES, makeTar, makeTempDir, makeTree, removeTrees } from '../support/fixture-tree.js';

afterAll(removeTrees);

const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

describe('directory digest', () => {
  it('is SHA-256 over the byte-sorted `<sha256>  <path>\\n` lines (docs/gate.md)', async () => {
    const root = await makeTree({ 'b.txt': 'two', 'a/z.txt': 'one', 'a/B.txt': 'three', 'é.txt': 'four' });
    const files: Array<[string, string]> = [
      ['a/B.txt', 'three'],
      ['a/z.txt', 'one'],
      ['b.txt', 'two'],
      ['é.txt', 'four'],
    ];
    const expected = `sha256:${sha256(files.map(([path, body]) => `${sha256(body)}  ${path}\n`).join(''))}`;
    expect(await artifactDigest(root)).toBe(expected);
  });

  it('matches the shell recipe given in docs/gate.md', async () => {
    const root = await makeTree({ 'x/1.bin': Buffer.from([0, 1, 2]), 'y.txt': 'hello\n', 'x/.hidden': 'h' });
    const shell = execFileSync('sh', ['-c', "find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sed 's|  \\./|  |' | sha256sum | cut -d' ' -f1"], {
      cwd: root,
      encoding: 'utf8',
    }).trim();
    expect(await artifactDigest(root)).toBe(`sha256:${shell}`);
  });

  it('gives the fixture artifact its pinned digest (the committed reports are bound to it)', async () => {
    expect(await artifactDigest(await makeTree(CLEAN_FILES))).toBe(CLEAN_DIGEST);
  });

  it('does not depend on creation order, and changes with any byte or name', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-z]{1,6}$/), fc.string({ maxLength: 20 })), { minLength: 1, maxLength: 6, selector: ([name]) => name }),
        async (files) => {
          const forward = await makeTree(Object.fromEntries(files));
          const backward = await makeTree(Object.fromEntries([...files].reverse()));
          const digest = await artifactDigest(forward);
          expect(await artifactDigest(backward)).toBe(digest);
          const [name, body] = files[0] as [string, string];
          await writeFile(join(forward, name), `${body}!`);
          expect(await artifactDigest(forward)).not.toBe(digest);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('refuses a symbolic link instead of following it', async () => {
    const root = await makeTree({ 'app/a.txt': 'a' });
    await symlink('/etc/hostname', join(root, 'app/link'));
    await expect(artifactDigest(root)).rejects.toMatchObject({ code: 'GATE_ARTIFACT_UNSUPPORTED_ENTRY' });
  });

  it('refuses a file name holding a newline (it would make the line format ambiguous)', async () => {
    const root = await makeTree({ 'bad\nname': 'x' });
    await expect(artifactDigest(root)).rejects.toMatchObject({ code: 'GATE_ARTIFACT_UNSUPPORTED_ENTRY' });
  });

  it('reports a missing path as unreadable', async () => {
    await expect(artifactDigest(join(await makeTempDir(), 'nope'))).rejects.toMatchObject({ code: 'GATE_INPUT_UNREADABLE' });
  });
});

describe('tarball digest', () => {
  it('is SHA-256 of the tarball bytes, for a path and for bytes alike', async () => {
    const tar = makeTar([{ path: 'app/server.js', content: 'x' }]);
    const dir = await makeTempDir();
    await writeFile(join(dir, 'a.tar'), tar);
    expect(await artifactDigest(join(dir, 'a.tar'))).toBe(`sha256:${sha256(tar)}`);
    expect(await artifactDigest(tar)).toBe(`sha256:${sha256(tar)}`);
  });

  it('reads gzip tarballs and lists their entries, links included', async () => {
    const gz = makeTar(
      [
        { path: 'app/', type: 'directory' },
        { path: 'app/server.js', content: 'console.log(1)' },
        { path: 'app/current', type: 'symlink', linkname: 'server.js' },
      ],
      { gzip: true },
    );
    const inventory = await readArtifact(gz);
    expect(inventory.kind).toBe('tarball');
    expect(inventory.digest).toBe(`sha256:${sha256(gz)}`);
    expect(inventory.entries.map((entry) => [entry.path, entry.kind])).toEqual([
      ['app', 'directory'],
      ['app/current', 'symlink'],
      ['app/server.js', 'file'],
    ]);
  });

  it('refuses bytes that are not a tar archive', async () => {
    await expect(artifactDigest(Buffer.from('this is not a tarball at all, just text'))).rejects.toMatchObject({ code: 'GATE_ARTIFACT_INVALID' });
  });

  it('refuses a truncated tarball', async () => {
    const tar = makeTar([{ path: 'big.bin', content: Buffer.alloc(4096, 7) }]);
    await expect(artifactDigest(tar.subarray(0, 1500))).rejects.toMatchObject({ code: 'GATE_ARTIFACT_INVALID' });
  });
});
