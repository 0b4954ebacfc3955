import * as grpc from '@grpc/grpc-js';
import { AGENT_VERSION_KEY, COORDINATOR_VERSION_KEY, FederationService, PROTOCOL_VERSION_KEY } from '@medfed/proto';
import type { Logger } from 'pino';
import { callPrincipal } from '../../auth/grpc/interceptor.js';
import { refusalStatus } from '../../auth/grpc/status.js';
import type { AnnouncedVersions } from '../../federation/site-versions.js';
import { protocolRefusal, THIS_COORDINATOR, type CoordinatorVersions } from './protocol-check.js';

/** The standard health service answers probes, which announce nothing. */
const EXEMPT_SERVICE = '/grpc.health.v1.Health/';
/** An agent release as it may be stored and shown; anything else is dropped. */
const RELEASE = /^[0-9A-Za-z.+-]{1,64}$/;
/** One log line per caller and announced version in this long: an agent from before negotiation keeps polling. */
const LOG_EVERY_MS = 10 * 60_000;

export interface ProtocolVersionOptions {
  /** What this coordinator speaks (default: this build's PROTOCOL_VERSION and release). */
  readonly coordinator?: CoordinatorVersions;
  /** Each call served OK for a known site: what that site's agent announced (records it). */
  readonly onServed?: (siteId: string, announced: AnnouncedVersions) => void;
  readonly log?: Logger;
}

function first(metadata: grpc.Metadata, key: string): string | undefined {
  const v = metadata.get(key)[0];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** The site an EnrollKey request enrols (the call proves it by redeeming that site's code). */
function enrolledSite(message: unknown): string | undefined {
  const siteId = (message as { siteId?: unknown } | null)?.siteId;
  return typeof siteId === 'string' && siteId.length > 0 ? siteId : undefined;
}

/**
 * Version negotiation on every call of every service but health: the caller's `medfed-protocol-version`
 * must be one this coordinator serves (protocol-check.ts), else the call ends FAILED_PRECONDITION
 * PROTOCOL_VERSION_UNSUPPORTED before its handler runs. Every answer carries this coordinator's
 * `medfed-protocol-version` and `medfed-coordinator-version` (in the headers, or the trailers of an
 * answer without headers). It runs after authentication, so each refusal is the call's audit event and
 * a served call is recorded for the site it acted for.
 */
export function protocolVersionInterceptor(options: ProtocolVersionOptions = {}): grpc.ServerInterceptor {
  const coordinator = options.coordinator ?? THIS_COORDINATOR;
  const logged = new Map<string, number>();
  const stamp = (metadata: grpc.Metadata | null | undefined): grpc.Metadata => {
    const md = metadata?.clone() ?? new grpc.Metadata();
    md.set(PROTOCOL_VERSION_KEY, coordinator.protocol);
    md.set(COORDINATOR_VERSION_KEY, coordinator.product);
    return md;
  };
  const logRefusal = (caller: string, fields: Record<string, unknown>, message: string) => {
    const key = `${caller}\n${String(fields.agentProtocol)}`;
    const now = Date.now();
    if (now - (logged.get(key) ?? -Infinity) < LOG_EVERY_MS) return;
    if (logged.size >= 10_000) logged.clear();
    logged.set(key, now);
    options.log?.warn(fields, `agent refused: ${message}`);
  };

  return (method, call) => {
    if (method.path.startsWith(EXEMPT_SERVICE)) return new grpc.ServerInterceptingCall(call);
    let announced: AnnouncedVersions | null = null;
    let site: string | undefined;
    let refused = false;
    let headersSent = false;

    return new grpc.ServerInterceptingCall(call, {
      start: (next) => next({
        onReceiveMetadata: (metadata, pass) => {
          const protocol = first(metadata, PROTOCOL_VERSION_KEY);
          const release = first(metadata, AGENT_VERSION_KEY);
          site = callPrincipal(metadata)?.site ?? undefined;
          const refusal = protocolRefusal(protocol, coordinator);
          if (refusal) {
            refused = true;
            logRefusal(site ?? call.getPeer(), {
              site, peer: call.getPeer(), method: method.path, agentProtocol: protocol?.slice(0, 32) ?? null,
              agentVersion: release?.slice(0, 64) ?? null, coordinatorProtocol: coordinator.protocol,
            }, refusal.message);
            const status = refusalStatus(refusal);
            call.sendStatus({ ...status, metadata: stamp(status.metadata) });
            return;
          }
          announced = { protocolVersion: protocol!, agentVersion: release && RELEASE.test(release) ? release : null };
          pass(metadata);
        },
        onReceiveMessage: (message, pass) => {
          if (refused) return;
          if (site === undefined && method.path === FederationService.enrollKey.path) site = enrolledSite(message);
          pass(message);
        },
      }),
      sendMetadata: (metadata, next) => {
        headersSent = true;
        next(stamp(metadata));
      },
      sendStatus: (status, next) => {
        if (status.code === grpc.status.OK && announced && site) options.onServed?.(site, announced);
        next(headersSent ? status : { ...status, metadata: stamp(status.metadata) });
      },
    });
  };
}
