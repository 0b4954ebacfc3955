import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';

/**
 * Test artifacts are built at test time in temporary directories, so nothing that looks like a
 * credential is committed. Secret-shaped strings are assembled from parts for the same reason.
 */

/** The clean artifact every committed vulnerability fixture is bound to (by CLEAN_DIGEST). */
export const CLEAN_FILES: Readonly<Record<string, string>> = {
  'app/server.js': "console.log('medfed');\n",
  'app/package.json': '{"name":"medfed-app","version":"1.0.0"}\n',
};
export const CLEAN_DIGEST = 'sha256:fd673314c55ec4b4b401014194f119927b5542887effb5fcf9fc4ef811bf561b';

const created: string[] = [];

export async function makeTree(files: Readonly<Record<string, string | Buffer>>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'medfed-gate-'));
  created.push(root);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  return root;
}

export async function makeTempDir(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'medfed-gate-'));
  created.push(root);
  return root;
}

export async function removeTrees(): Promise<void> {
  await Promise.all(created.splice(0).map((root) => rm(root, { recursive: true, force: true })));
}

export interface TarEntrySpec {
  readonly path: string;
  readonly content?: string | Buffer;
  readonly type?: 'file' | 'directory' | 'symlink' | 'hardlink' | 'char-device' | 'block-device' | 'fifo';
  readonly linkname?: string;
}

/** A minimal ustar writer, so tests build exact archives without a system tar. */
export function makeTar(entries: readonly TarEntrySpec[], options: { gzip?: boolean } = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.content ?? '');
    const header = Buffer.alloc(512);
    const type = entry.type ?? 'file';
    header.write(entry.path, 0, 100, 'utf8');
    header.write(type === 'directory' ? '0000755\0' : '0000644\0', 100, 8, 'ascii');
    header.write('0000000\0', 108, 8, 'ascii');
    header.write('0000000\0', 116, 8, 'ascii');
    header.write(`${(type === 'file' ? body.length : 0).toString(8).padStart(11, '0')}\0`, 124, 12, 'ascii');
    header.write('14712345670\0', 136, 12, 'ascii');
    header.write({ file: '0', directory: '5', symlink: '2', hardlink: '1', 'char-device': '3', 'block-device': '4', fifo: '6' }[type], 156, 1, 'ascii');
    if (entry.linkname) header.write(entry.linkname, 157, 100, 'utf8');
    header.write('ustar\0', 257, 6, 'ascii');
    header.write('00', 263, 2, 'ascii');
    header.fill(' ', 148, 156);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
    blocks.push(header);
    if (type === 'file') {
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  const tar = Buffer.concat(blocks);
  return options.gzip ? gzipSync(tar) : tar;
}

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly publicPem: string;
}

export function keyPair(kind: 'ed25519' | 'p256' | 'p384' | 'rsa'): KeyPair {
  const pair =
    kind === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : kind === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ec', { namedCurve: kind === 'p256' ? 'P-256' : 'P-384' });
  return { ...pair, publicPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** Secret-shaped strings, assembled so the sources hold none. */
export const FAKE = {
  awsKeyId: ['AK', 'IA', 'Z'.repeat(16)].join(''),
  privateKeyBlock: ['-----BEGIN ', 'PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI', 'A'.repeat(20), '\n-----END ', 'PRIVATE KEY-----\n'].join(''),
  password: ['not', '-a-', 'real', '-pw'].join(''),
};

export interface OciLayout {
  readonly files: Record<string, Buffer>;
  readonly manifestDigest: string;
  readonly configDigest: string;
  readonly layerDigest: string;
}

/** An OCI image layout (image-spec v1.1) with one gzip layer holding `layerFiles`. */
export function makeOciLayout(layerFiles: readonly TarEntrySpec[]): OciLayout {
  const digestOf = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const rawLayer = makeTar(layerFiles);
  const layer = gzipSync(rawLayer);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf(rawLayer)] } }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf(layer), size: layer.length }],
    }),
  );
  const index = Buffer.from(
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf(manifest), size: manifest.length }] }),
  );
  const blob = (bytes: Buffer): [string, Buffer] => [`blobs/sha256/${digestOf(bytes).slice(7)}`, bytes];
  return {
    files: Object.fromEntries([['oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}')], ['index.json', index], blob(manifest), blob(config), blob(layer)]),
    manifestDigest: digestOf(manifest),
    configDigest: digestOf(config),
    layerDigest: digestOf(layer),
  };
}
