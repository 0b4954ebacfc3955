import { hostname } from 'node:os';

const WILDCARD = new Set(['0.0.0.0', '::', '[::]', '']);
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/**
 * Where this coordinator can be reached, as DPoP proofs name it, when no public origins are configured
 * (development only: production refuses to start without `auth.restOrigins` and `auth.grpcAuthorities`).
 * Filled from the addresses the servers actually bound, never from a request's Host or :authority,
 * so a proof made for another server is refused here.
 */
export class SelfOrigins {
  #rest: readonly string[] = [];
  #grpc: readonly string[] = [];

  get rest(): readonly string[] {
    return this.#rest;
  }

  get grpc(): readonly string[] {
    return this.#grpc;
  }

  /** `boundHost`: the configured listen host; `port`: the port actually bound (0 resolved). */
  setRest(scheme: 'http' | 'https', boundHost: string, port: number): void {
    this.#rest = hostsFor(boundHost).map((h) => `${scheme}://${h}:${port}`);
  }

  setGrpc(boundHost: string, port: number): void {
    this.#grpc = hostsFor(boundHost).map((h) => `${h}:${port}`);
  }
}

function hostsFor(boundHost: string): string[] {
  const hosts = new Set(LOOPBACK_NAMES);
  if (WILDCARD.has(boundHost)) hosts.add(hostname().toLowerCase());
  else hosts.add(boundHost.includes(':') && !boundHost.startsWith('[') ? `[${boundHost}]` : boundHost.toLowerCase());
  return [...hosts];
}
