import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { MedfedError } from '@medfed/proto';

export interface CoordinatorTls {
  /** PEM CA bundle that signs the coordinator's certificate (e.g. medfed dev-ca's ca.pem). */
  readonly ca?: string | undefined;
}

function hostOf(address: string): string {
  const m = /^\[([^\]]+)\]:\d+$/.exec(address) ?? /^([^:]+):\d+$/.exec(address);
  return m?.[1] ?? address;
}

/** TLS to the coordinator; plain text only to a loopback coordinator (development). */
export function channelCredentials(address: string, tls: CoordinatorTls | undefined): grpc.ChannelCredentials {
  if (tls) {
    let ca: Buffer | null = null;
    if (tls.ca) {
      try {
        ca = readFileSync(tls.ca);
      } catch (err) {
        throw new MedfedError('CONFIG_INVALID', `coordinator.tls.ca: cannot read ${tls.ca} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
    }
    return grpc.credentials.createSsl(ca);
  }
  const host = hostOf(address);
  if (host !== 'localhost' && !(isIP(host) === 4 && host.startsWith('127.')) && host !== '::1') {
    throw new MedfedError('CONFIG_INVALID', `coordinator ${address} is not on this host: set coordinator.tls (the CA that signs its certificate) to connect with TLS`);
  }
  return grpc.credentials.createInsecure();
}
