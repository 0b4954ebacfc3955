import { readFile } from 'node:fs/promises';
import { MedfedError } from '@medfed/proto';

export interface TlsSettings {
  readonly cert: string;
  readonly key: string;
  readonly ca?: string | undefined;
  readonly requireClientCert?: boolean | undefined;
}

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | null;
  readonly requireClientCert: boolean;
}

async function read(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new MedfedError('CONFIG_INVALID', `tls.${what}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** Reads the PEM files named by the `tls` settings. */
export async function loadTlsMaterial(settings: TlsSettings): Promise<TlsMaterial> {
  const [cert, key, ca] = await Promise.all([
    read(settings.cert, 'cert'), read(settings.key, 'key'), settings.ca ? read(settings.ca, 'ca') : Promise.resolve(null),
  ]);
  if (settings.requireClientCert && !ca) throw new MedfedError('CONFIG_INVALID', 'tls.requireClientCert needs tls.ca: the CA that signs client certificates');
  return { cert, key, ca, requireClientCert: settings.requireClientCert ?? false };
}
