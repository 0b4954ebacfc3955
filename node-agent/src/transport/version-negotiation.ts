import * as grpc from '@grpc/grpc-js';
import {
  AGENT_VERSION_KEY, COORDINATOR_VERSION_KEY, isServed, parseProtocolVersion, PRODUCT_VERSION, PROTOCOL_VERSION, PROTOCOL_VERSION_KEY,
} from '@medfed/proto';

/** What an agent announces on every call: its protocol version and, for display, its medfed release. */
export interface VersionAnnouncement {
  readonly protocolVersion: string;
  readonly agentVersion: string;
}

export const THIS_AGENT: VersionAnnouncement = { protocolVersion: PROTOCOL_VERSION, agentVersion: PRODUCT_VERSION };

/** The coordinator speaks a newer minor than this agent: still served, but not by the coordinator's next minor. */
export interface CoordinatorAhead {
  readonly coordinatorProtocol: string;
  readonly coordinatorVersion: string | null;
  readonly agentProtocol: string;
  readonly message: string;
}

export interface VersionNegotiation {
  /** What this client announces (default THIS_AGENT); tests announce other versions. */
  readonly announce?: VersionAnnouncement;
  /** Called once per coordinator protocol version that is ahead of this agent's (the agent logs it as a warning). */
  readonly onCoordinatorAhead?: (notice: CoordinatorAhead) => void;
}

function first(metadata: grpc.Metadata | null | undefined, key: string): string | null {
  const v = metadata?.get(key)[0];
  return typeof v === 'string' && v.length > 0 ? v : null;
}

/**
 * A client interceptor for every call of a channel: it adds `medfed-protocol-version` and
 * `medfed-agent-version` (unless the call set them itself) and reads the coordinator's
 * `medfed-protocol-version` from the answer's headers, or its trailers when it has none.
 */
export function versionNegotiation(options: VersionNegotiation = {}): grpc.Interceptor {
  const announce = options.announce ?? THIS_AGENT;
  const ours = parseProtocolVersion(announce.protocolVersion);
  const noticed = new Set<string>();
  const observe = (metadata: grpc.Metadata | null | undefined) => {
    const theirs = first(metadata, PROTOCOL_VERSION_KEY);
    if (!theirs || !ours || noticed.has(theirs) || !options.onCoordinatorAhead) return;
    const coordinator = parseProtocolVersion(theirs);
    if (!coordinator || coordinator.major !== ours.major || coordinator.minor <= ours.minor || !isServed(ours, coordinator)) return;
    noticed.add(theirs);
    const release = first(metadata, COORDINATOR_VERSION_KEY);
    options.onCoordinatorAhead({
      coordinatorProtocol: theirs, coordinatorVersion: release, agentProtocol: announce.protocolVersion,
      message: `the coordinator speaks protocol ${theirs}${release ? ` (medfed ${release})` : ''}, this agent ${announce.protocolVersion} `
        + `(medfed ${announce.agentVersion}): it is still served, but the coordinator's next minor will refuse it; upgrade this agent soon`,
    });
  };

  return (callOptions, nextCall) => new grpc.InterceptingCall(nextCall(callOptions), {
    start: (metadata, listener, next) => {
      if (metadata.get(PROTOCOL_VERSION_KEY).length === 0) metadata.set(PROTOCOL_VERSION_KEY, announce.protocolVersion);
      if (metadata.get(AGENT_VERSION_KEY).length === 0) metadata.set(AGENT_VERSION_KEY, announce.agentVersion);
      next(metadata, {
        onReceiveMetadata: (headers, pass) => {
          observe(headers);
          pass(headers);
        },
        onReceiveStatus: (status, pass) => {
          observe(status.metadata);
          pass(status);
        },
      });
    },
  });
}
