import {
  compareProtocolVersions, isServed, parseProtocolVersion, PRODUCT_VERSION, PROTOCOL_VERSION, servedVersions,
} from '@medfed/proto';
import { FederationError } from '../../federation/errors.js';

/** What this coordinator speaks: its protocol version and, for messages, its medfed release. */
export interface CoordinatorVersions {
  readonly protocol: string;
  readonly product: string;
}

export const THIS_COORDINATOR: CoordinatorVersions = { protocol: PROTOCOL_VERSION, product: PRODUCT_VERSION };

/**
 * Why the coordinator refuses an agent announcing `announced` (undefined: it announced nothing, so it
 * predates version negotiation), or null when it serves it. Each message names both versions and the upgrade.
 */
export function protocolRefusal(announced: string | undefined, coordinator: CoordinatorVersions = THIS_COORDINATOR): FederationError | null {
  const ours = parseProtocolVersion(coordinator.protocol);
  if (!ours) throw new Error(`this coordinator's protocol version ${coordinator.protocol} is not MAJOR.MINOR`);
  const served = servedVersions(ours);
  const upgradeAgent = `upgrade the agent to medfed >= ${coordinator.product}`;
  const refuse = (message: string) => new FederationError('PROTOCOL_VERSION_UNSUPPORTED', message);
  if (announced === undefined) {
    return refuse(`the agent announces no protocol version: it predates version negotiation, and this coordinator serves protocol ${served}: ${upgradeAgent}`);
  }
  const agent = parseProtocolVersion(announced);
  if (!agent) return refuse(`agent protocol version "${announced.slice(0, 32)}" is not MAJOR.MINOR; this coordinator serves ${served}: ${upgradeAgent}`);
  if (isServed(agent, ours)) return null;
  if (compareProtocolVersions(agent, ours) < 0) {
    return refuse(`agent protocol ${announced} is older than this coordinator serves (${served}): ${upgradeAgent}`);
  }
  return refuse(`agent protocol ${announced} is newer than this coordinator serves (${served}, or a newer ${ours.major}.x): `
    + `upgrade the coordinator (medfed ${coordinator.product}) to a release that speaks protocol ${agent.major}, or run an agent release for protocol ${ours.major}`);
}
