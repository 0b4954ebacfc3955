import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import canonicalize from 'canonicalize';
import { HeError } from '../errors.js';
import { paramSetDigest } from '../param-sets.js';
import { secretKeyId } from '../secret-key.js';

/** A site's HE key at rest. The metadata binds the key to its job, epoch, site and parameters. */
export interface HeKeyFileRecord {
  readonly job: string;
  readonly epoch: number;
  readonly siteId: string;
  readonly paramSetId: string;
  readonly keyId: string;
  /** SEAL serialisation; the reader's copy should be zeroised after import. */
  readonly secretKey: Uint8Array;
}

const MAGIC = 'MFHK';
const FORMAT = 'medfed-he-key-file/1';

/**
 * Writes the key file atomically (temporary file, fsync, rename) with mode 0600. Binary, so the
 * key never becomes an immutable JavaScript string that could not be wiped.
 */
export async function writeKeyFile(path: string, record: HeKeyFileRecord): Promise<void> {
  const paramsDigest = paramSetDigest(record.paramSetId);
  if (secretKeyId(paramsDigest, record.secretKey) !== record.keyId) {
    throw new HeError('HE_KEY_FILE_MALFORMED', `refusing to write a key whose bytes do not match keyId ${record.keyId}`);
  }
  const meta = new TextEncoder().encode(canonicalize({
    format: FORMAT, job: record.job, epoch: record.epoch, siteId: record.siteId, paramSetId: record.paramSetId, paramsDigest, keyId: record.keyId,
  })!);
  const body = Buffer.alloc(8 + meta.byteLength + record.secretKey.byteLength);
  body.write(MAGIC, 0, 'ascii');
  body.writeUInt32LE(meta.byteLength, 4);
  body.set(meta, 8);
  body.set(record.secretKey, 8 + meta.byteLength);
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      await handle.chmod(0o600); // in case the umask left less; never more
      await handle.writeFile(body);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (err) {
    await unlink(temporary).catch(() => undefined);
    throw err;
  } finally {
    body.fill(0);
  }
}

function malformed(path: string, message: string): never {
  throw new HeError('HE_KEY_FILE_MALFORMED', `HE key file ${path}: ${message}`);
}

/**
 * Reads a key file, refusing one that is not a regular file owned by this user with no group or
 * other permission bits (HE_KEY_FILE_PERMISSIONS), and one whose key does not match its key id.
 */
export async function readKeyFile(path: string): Promise<HeKeyFileRecord> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new HeError('HE_KEY_FILE_PERMISSIONS', `HE key file ${path} is a symbolic link; keep the key in a regular file with mode 0600`);
    throw new HeError('HE_KEY_FILE_MALFORMED', `HE key file ${path} cannot be opened (${code ?? 'error'})`, undefined, { cause: err });
  }
  let bytes: Buffer;
  try {
    const stat = await handle.stat();
    const uid = process.getuid?.();
    if (!stat.isFile() || (stat.mode & 0o077) !== 0 || (uid !== undefined && stat.uid !== uid)) {
      throw new HeError('HE_KEY_FILE_PERMISSIONS', `HE key file ${path} has mode ${(stat.mode & 0o777).toString(8)} and owner ${stat.uid}; ` +
        'it must be a regular file of this user readable by nobody else: chmod 600 it, and rotate the key if others could read it');
    }
    bytes = await handle.readFile();
  } finally {
    await handle.close();
  }
  try {
    if (bytes.byteLength < 8 || bytes.toString('ascii', 0, 4) !== MAGIC) malformed(path, 'not a medfed HE key file');
    const metaLength = bytes.readUInt32LE(4);
    if (8 + metaLength > bytes.byteLength) malformed(path, 'metadata is truncated');
    let meta: Record<string, unknown>;
    try {
      meta = JSON.parse(bytes.toString('utf8', 8, 8 + metaLength)) as Record<string, unknown>;
    } catch {
      return malformed(path, 'metadata is not JSON');
    }
    const { job, epoch, siteId, paramSetId, paramsDigest, keyId } = meta;
    if (meta.format !== FORMAT || typeof job !== 'string' || !Number.isSafeInteger(epoch) || typeof siteId !== 'string' ||
      typeof paramSetId !== 'string' || typeof keyId !== 'string') malformed(path, 'metadata fields are missing or mistyped');
    let digest: string;
    try {
      digest = paramSetDigest(paramSetId as string);
    } catch {
      return malformed(path, `parameter set ${JSON.stringify(paramSetId)} is unknown`);
    }
    if (paramsDigest !== digest) malformed(path, 'parameter digest does not match the parameter set');
    const secretKey = Uint8Array.from(bytes.subarray(8 + metaLength));
    if (secretKeyId(digest, secretKey) !== keyId) {
      secretKey.fill(0);
      malformed(path, `key bytes do not match key id ${String(keyId)}`);
    }
    return { job: job as string, epoch: epoch as number, siteId: siteId as string, paramSetId: paramSetId as string, keyId: keyId as string, secretKey };
  } finally {
    bytes.fill(0);
  }
}
