import { afterAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { DEFAULT_SCAN_LIMITS, evaluateGate, parsePolicy, readArtifact, renderDecisionText, type GateDecision, type GatePolicy } from '../../src/index.js';
import { CLEAN_FILES, FAKE, makeOciLayout, makeTar, makeTree, removeTrees, type TarEntrySpec } from '../support/fixture-tree.js';

afterAll(removeTrees);

const SERVER = { path: 'app/server.js', content: "console.log('medfed');\n" } as const;

/** Only the artifact's own inspection: no report, SBOM or signature rules to add triggers. */
function policy(limits = ''): GatePolicy {
  return parsePolicy(
    `version: 1
name: inspection-only
environments:
  prod: { rules: [{ gate: sensitive_files, trigger: file_name, action: stop }, { gate: sensitive_files, trigger: content, action: stop }] }
  staging: { rules: [{ gate: sensitive_files, trigger: file_name, action: stop }, { gate: sensitive_files, trigger: content, action: stop }] }
  dev: { rules: [{ gate: sensitive_files, trigger: file_name, action: warn }, { gate: sensitive_files, trigger: content, action: warn }] }
${limits}`,
    'inspection policy',
  );
}

/** Gzip members decompress one after another: 64 members of 16 MiB of zeros expand to 1 GiB from about 1 MiB. */
function gzipBomb(): Buffer {
  const member = gzipSync(Buffer.alloc(16 * 1024 * 1024));
  return Buffer.concat(Array.from({ length: 64 }, () => member));
}

function inputTriggers(decision: GateDecision): Array<{ code?: string; subject: string; action: string }> {
  return decision.triggers.filter((trigger) => trigger.gate === 'input').map(({ code, subject, action }) => ({ ...(code ? { code } : {}), subject, action }));
}

describe('compression bombs and size caps', () => {
  it('a high-ratio gzip inside a tar stops the scan of it quickly (expansion ratio), and the gate finishes', async () => {
    const bomb = gzipBomb();
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
    const started = Date.now();
    const decision = await evaluateGate({ artifact: makeTar([SERVER, { path: 'data/bomb.gz', content: bomb }]), env: 'staging', policy: policy() });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(decision.decision).toBe('stop');
    expect(inputTriggers(decision)).toEqual([{ code: 'GATE_ARCHIVE_EXPANSION_LIMIT', subject: 'data/bomb.gz', action: 'stop' }]);
    expect(decision.triggers[0]?.message).toMatch(/max_expansion_ratio \(100:1\)/);
  }, 60_000);

  it('the artifact\'s own tar+gzip is metered too: a zero-filled tarball stops as an expansion', async () => {
    const tarball = makeTar([SERVER, { path: 'data/zeros.bin', content: Buffer.alloc(8 * 1024 * 1024) }], { gzip: true });
    const decision = await evaluateGate({ artifact: tarball, env: 'prod', policy: policy() });
    expect(decision.artifactDigest).toMatch(/^sha256:/);
    expect(inputTriggers(decision)).toEqual([{ code: 'GATE_ARCHIVE_EXPANSION_LIMIT', subject: 'artifact', action: 'stop' }]);
  });

  it('max_expanded_bytes caps decompression over the whole artifact, whatever the ratio', async () => {
    const vendor = makeTar([{ path: 'vendor/blob.txt', content: randomBytes(1536 * 1024).toString('base64') }], { gzip: true });
    const tree = await makeTree({ ...CLEAN_FILES, 'vendor.tar.gz': vendor });
    const capped = await evaluateGate({ artifact: tree, env: 'staging', policy: policy('limits: { max_expanded_bytes: 1048576 }') });
    expect(inputTriggers(capped)).toEqual([{ code: 'GATE_ARCHIVE_EXPANSION_LIMIT', subject: 'vendor.tar.gz', action: 'stop' }]);
    expect(capped.triggers[0]?.message).toMatch(/max_expanded_bytes \(1048576 bytes in all\)/);
    expect((await evaluateGate({ artifact: tree, env: 'staging', policy: policy() })).decision).toBe('allow');
  });

  it('a text file over max_text_bytes stops in staging and prod; dev warns and says that the others stop', async () => {
    const tree = await makeTree({ ...CLEAN_FILES, 'app/bundle.js': `${'console.log(1);\n'.repeat(80_000)}` });
    const limits = 'limits: { max_text_bytes: 1048576 }';
    for (const env of ['staging', 'prod'] as const) {
      const decision = await evaluateGate({ artifact: tree, env, policy: policy(limits) });
      expect(decision.decision).toBe('stop');
      expect(inputTriggers(decision)).toEqual([{ code: 'GATE_CONTENT_UNSCANNED', subject: 'app/bundle.js', action: 'stop' }]);
    }
    const dev = await evaluateGate({ artifact: tree, env: 'dev', policy: policy(limits) });
    expect(dev.decision).toBe('warn');
    expect(dev.triggers).toEqual([expect.objectContaining({ gate: 'input', code: 'GATE_CONTENT_UNSCANNED', action: 'warn', stopsIn: ['staging', 'prod'] })]);
    expect(renderDecisionText(dev)).toContain('a warning here only: staging and prod stop on this');
  });

  it('a secret before the text cap is still reported next to the cap refusal', async () => {
    const text = `password = ${FAKE.password}\n${'filler line\n'.repeat(200_000)}`;
    const decision = await evaluateGate({ artifact: await makeTree({ 'conf/app.conf': text }), env: 'staging', policy: policy('limits: { max_text_bytes: 1048576 }') });
    expect(decision.triggers.map((trigger) => `${trigger.gate}/${trigger.trigger}:${trigger.code ?? ''}`).sort()).toEqual([
      'input/artifact:GATE_CONTENT_UNSCANNED',
      'sensitive_files/content:',
    ]);
  });
});

describe('nested archives', () => {
  /** `level1.tar.gz` holding `level2.tar.gz` … down to `levelN.tar.gz`, which holds an SSH key. */
  function nestedArchives(depth: number): Buffer {
    let archive = makeTar([{ path: 'keys/id_ed25519', content: 'placeholder\n' }], { gzip: true });
    for (let level = depth; level > 1; level -= 1) archive = makeTar([{ path: `level${level}.tar.gz`, content: archive }], { gzip: true });
    return archive;
  }

  it(`opens archives down to max_archive_depth (${DEFAULT_SCAN_LIMITS.maxArchiveDepth}) and finds what the innermost holds`, async () => {
    const decision = await evaluateGate({ artifact: await makeTree({ 'level1.tar.gz': nestedArchives(3) }), env: 'staging', policy: policy() });
    expect(decision.triggers).toEqual([
      expect.objectContaining({ gate: 'sensitive_files', trigger: 'file_name', subject: 'level1.tar.gz!/level2.tar.gz!/level3.tar.gz!/keys/id_ed25519' }),
    ]);
  });

  it('one level deeper is a stop that names the archive it did not open', async () => {
    const decision = await evaluateGate({ artifact: await makeTree({ 'level1.tar.gz': nestedArchives(4) }), env: 'staging', policy: policy() });
    expect(inputTriggers(decision)).toEqual([
      { code: 'GATE_ARCHIVE_NESTING_LIMIT', subject: 'level1.tar.gz!/level2.tar.gz!/level3.tar.gz!/level4.tar.gz', action: 'stop' },
    ]);
  });

  it('max_archive_depth is read from the policy', async () => {
    const decision = await evaluateGate({ artifact: await makeTree({ 'level1.tar.gz': nestedArchives(4) }), env: 'staging', policy: policy('limits: { max_archive_depth: 4 }') });
    expect(inputTriggers(decision)).toEqual([]);
    expect(decision.triggers).toHaveLength(1);
  });

  it('a gzip file that is not tar is decompressed and searched as the file it holds', async () => {
    const decision = await evaluateGate({ artifact: await makeTree({ 'backup/settings.json.gz': gzipSync(JSON.stringify({ password: FAKE.password })) }), env: 'staging', policy: policy() });
    expect(decision.triggers).toEqual([expect.objectContaining({ trigger: 'content', subject: 'backup/settings.json.gz!/settings.json' })]);
  });

  it('formats the gate does not open (zip), a corrupt gzip and a corrupt nested tar are stops as unscanned content', async () => {
    const zip = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(60)]);
    const truncatedGzip = gzipSync(randomBytes(4096)).subarray(0, 100);
    const brokenTar = makeTar([{ path: 'a.txt', content: 'a' }]);
    brokenTar[148] = '9'.charCodeAt(0);
    const tree = await makeTree({ ...CLEAN_FILES, 'lib/app.jar': zip, 'data/cut.gz': truncatedGzip, 'vendor/broken.tar': brokenTar });
    const decision = await evaluateGate({ artifact: tree, env: 'prod', policy: policy() });
    expect(inputTriggers(decision).sort((a, b) => a.subject.localeCompare(b.subject))).toEqual([
      { code: 'GATE_CONTENT_UNSCANNED', subject: 'data/cut.gz', action: 'stop' },
      { code: 'GATE_CONTENT_UNSCANNED', subject: 'lib/app.jar', action: 'stop' },
      { code: 'GATE_CONTENT_UNSCANNED', subject: 'vendor/broken.tar', action: 'stop' },
    ]);
    expect(decision.triggers.find((trigger) => trigger.subject === 'lib/app.jar')?.message).toMatch(/zip data, which the gate does not open/);
  });

  it('lists the entries of a nested archive in the inventory, named after the archive', async () => {
    const vendor = makeTar([{ path: 'vendor/', type: 'directory' }, { path: 'vendor/index.js', content: 'module.exports = 1;\n' }], { gzip: true });
    const inventory = await readArtifact(await makeTree({ 'vendor.tgz': vendor }));
    expect(inventory.entries.map((entry) => `${entry.kind} ${entry.path}`)).toEqual(['file vendor.tgz', 'directory vendor.tgz!/vendor', 'file vendor.tgz!/vendor/index.js']);
    expect(inventory.issues).toEqual([]);
  });

  it('searches a nested archive inside an image layer, keeping the layer it came from', async () => {
    const vendor = makeTar([{ path: 'certs/client.key', content: 'placeholder\n' }], { gzip: true });
    const image = makeOciLayout([{ path: 'opt/app/vendor.tar.gz', content: vendor }]);
    const decision = await evaluateGate({ artifact: await makeTree(image.files), env: 'staging', policy: policy() });
    expect(decision.triggers).toEqual([expect.objectContaining({ trigger: 'file_name', subject: '/opt/app/vendor.tar.gz!/certs/client.key', message: expect.stringContaining('image layer') })]);
  });
});

describe('unsafe archive entries stop in every environment', () => {
  const cases: ReadonlyArray<{ readonly name: string; readonly entry: TarEntrySpec; readonly code: string }> = [
    { name: 'a `..` segment', entry: { path: 'app/../../escape.sh', content: 'x' }, code: 'GATE_ARCHIVE_PATH_TRAVERSAL' },
    { name: 'an absolute name', entry: { path: '/etc/passwd', content: 'x' }, code: 'GATE_ARCHIVE_ABSOLUTE_PATH' },
    { name: 'a symlink to an absolute path', entry: { path: 'app/shadow', type: 'symlink', linkname: '/etc/shadow' }, code: 'GATE_ARCHIVE_LINK_ESCAPE' },
    { name: 'a symlink that climbs above the root', entry: { path: 'app/up', type: 'symlink', linkname: '../../outside' }, code: 'GATE_ARCHIVE_LINK_ESCAPE' },
    { name: 'a hard link outside the archive', entry: { path: 'app/hard', type: 'hardlink', linkname: '../outside' }, code: 'GATE_ARCHIVE_LINK_ESCAPE' },
    { name: 'a character device', entry: { path: 'dev/mem', type: 'char-device' }, code: 'GATE_ARCHIVE_SPECIAL_FILE' },
    { name: 'a block device', entry: { path: 'dev/sda', type: 'block-device' }, code: 'GATE_ARCHIVE_SPECIAL_FILE' },
    { name: 'a FIFO', entry: { path: 'run/pipe', type: 'fifo' }, code: 'GATE_ARCHIVE_SPECIAL_FILE' },
  ];

  for (const { name, entry, code } of cases) {
    it(`${name}: ${code}`, async () => {
      for (const env of ['dev', 'staging', 'prod'] as const) {
        const decision = await evaluateGate({ artifact: makeTar([SERVER, entry]), env, policy: policy() });
        expect(decision.decision).toBe('stop');
        expect(inputTriggers(decision)).toEqual([{ code, subject: entry.path, action: 'stop' }]);
      }
    });
  }

  it('inside a nested archive, named after it', async () => {
    const vendor = makeTar([{ path: '../../etc/cron.d/evil', content: 'x' }], { gzip: true });
    const decision = await evaluateGate({ artifact: await makeTree({ 'vendor.tar.gz': vendor }), env: 'staging', policy: policy() });
    expect(inputTriggers(decision)).toEqual([{ code: 'GATE_ARCHIVE_PATH_TRAVERSAL', subject: 'vendor.tar.gz!/../../etc/cron.d/evil', action: 'stop' }]);
  });

  it('links that stay inside are fine; in an image layer an absolute link target stays inside the image', async () => {
    const inside = makeTar([SERVER, { path: 'app/current', type: 'symlink', linkname: '../app' }, { path: 'app/copy.js', type: 'hardlink', linkname: 'app/server.js' }]);
    expect(inputTriggers(await evaluateGate({ artifact: inside, env: 'prod', policy: policy() }))).toEqual([]);
    const image = makeOciLayout([{ path: 'etc/localtime', type: 'symlink', linkname: '/usr/share/zoneinfo/Etc/UTC' }, SERVER]);
    expect(inputTriggers(await evaluateGate({ artifact: await makeTree(image.files), env: 'prod', policy: policy() }))).toEqual([]);
  });

  it('lists at most 50 entries per problem and counts the rest', async () => {
    const entries = Array.from({ length: 60 }, (_, index) => ({ path: `../x${index}`, content: 'x' }));
    const decision = await evaluateGate({ artifact: makeTar(entries), env: 'prod', policy: policy() });
    const triggers = inputTriggers(decision);
    expect(triggers).toHaveLength(51);
    expect(decision.triggers.at(-1)?.message).toBe('10 more entries with GATE_ARCHIVE_PATH_TRAVERSAL were not listed');
  });
});
