import { afterAll, describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { evaluateGate, readArtifact } from '../../src/index.js';
import { findSensitiveFiles, wantsContent } from '../../src/sensitive/find-sensitive-files.js';
import { makeOciLayout, makeTar, makeTempDir, makeTree, removeTrees } from '../support/fixture-tree.js';

afterAll(removeTrees);

const image = makeOciLayout([
  { path: 'app/', type: 'directory' },
  { path: 'app/server.js', content: "console.log('medfed')\n" },
  { path: 'root/.ssh/id_rsa', content: 'placeholder, not a key\n' },
]);

function trivyReportFor(digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      SchemaVersion: 2,
      ArtifactName: `registry.example/medfed@${digest}`,
      ArtifactType: 'container_image',
      Metadata: { RepoDigests: [`registry.example/medfed@${digest}`] },
      Results: [{ Target: 'registry.example/medfed (debian 12.8)', Class: 'os-pkgs', Type: 'debian', Vulnerabilities: null }],
    }),
  );
}

describe('OCI image layouts', () => {
  it('proves the manifest and config digests of a layout directory, and lists files inside its layers', async () => {
    const inventory = await readArtifact(await makeTree(image.files), { wantContent: wantsContent });
    expect(inventory.image?.digests).toEqual([image.configDigest, image.manifestDigest].sort());
    const inLayer = inventory.entries.find((entry) => entry.path === '/root/.ssh/id_rsa');
    expect(inLayer).toMatchObject({ kind: 'file', layer: image.layerDigest });
    expect(findSensitiveFiles(inventory.entries)).toEqual([expect.objectContaining({ path: '/root/.ssh/id_rsa', ruleId: 'ssh-key' })]);
  });

  it('reads the same identity from the layout packed as a tarball (oci-archive)', async () => {
    const archive = makeTar(Object.entries(image.files).map(([path, content]) => ({ path, content })));
    const inventory = await readArtifact(archive, { wantContent: wantsContent });
    expect(inventory.image?.digests).toEqual([image.configDigest, image.manifestDigest].sort());
    expect(inventory.entries.some((entry) => entry.path === '/root/.ssh/id_rsa' && entry.layer === image.layerDigest)).toBe(true);
  });

  it('binds a scanner report made for the image manifest digest to the layout', async () => {
    const dir = await makeTree(image.files);
    const decision = await evaluateGate({ artifact: dir, env: 'dev', vulnReport: trivyReportFor(image.manifestDigest) });
    expect(decision.triggers.filter((trigger) => trigger.gate === 'input')).toEqual([]);
    expect(decision.imageDigests).toContain(image.manifestDigest);
    // The key file inside the layer is still found: dev warns on it.
    expect(decision.triggers).toEqual([expect.objectContaining({ gate: 'sensitive_files', trigger: 'file_name', subject: '/root/.ssh/id_rsa', action: 'warn' })]);
  });

  it('refuses a layout whose blob bytes do not hash to the blob name', async () => {
    const dir = await makeTree(image.files);
    await writeFile(join(dir, `blobs/sha256/${image.configDigest.slice(7)}`), '{"tampered":true}');
    await expect(readArtifact(dir)).rejects.toMatchObject({ code: 'GATE_ARTIFACT_INVALID' });
  });

  it('refuses an index that names a blob the layout does not hold', async () => {
    const files = { ...image.files };
    delete files[`blobs/sha256/${image.manifestDigest.slice(7)}`];
    await expect(readArtifact(await makeTree(files))).rejects.toMatchObject({ code: 'GATE_ARTIFACT_INVALID' });
  });

  it('treats a directory without oci-layout as a plain directory', async () => {
    const dir = await makeTempDir();
    await writeFile(join(dir, 'index.json'), '{"manifests":[]}');
    expect((await readArtifact(dir)).image).toBeNull();
  });
});
