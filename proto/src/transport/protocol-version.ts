import { createRequire } from 'node:module';

/**
 * The version of medfed.v1.Federation as agents and the coordinator speak it, `MAJOR.MINOR`.
 * A new minor adds to the protocol without changing what exists; a new major changes or removes.
 * Bump the minor with every addition an agent may rely on, the major with every break.
 */
export const PROTOCOL_VERSION = '1.2';

/** The medfed release (package.json `version`): announced beside the protocol version, for display only. */
export const PRODUCT_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** gRPC metadata: the agent announces both on every call; the coordinator answers with its own. */
export const PROTOCOL_VERSION_KEY = 'medfed-protocol-version';
export const AGENT_VERSION_KEY = 'medfed-agent-version';
export const COORDINATOR_VERSION_KEY = 'medfed-coordinator-version';

export interface ProtocolVersion {
  readonly major: number;
  readonly minor: number;
}

const FORMAT = /^(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})$/;

/** `MAJOR.MINOR` (decimal, no leading zeros), or null for anything else. */
export function parseProtocolVersion(text: string): ProtocolVersion | null {
  const m = FORMAT.exec(text);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
}

export function formatProtocolVersion(v: ProtocolVersion): string {
  return `${v.major}.${v.minor}`;
}

/** Negative when `a` is older than `b`, 0 when equal, positive when newer. */
export function compareProtocolVersions(a: ProtocolVersion, b: ProtocolVersion): number {
  return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}

/**
 * Whether a coordinator serves an agent: the same major, and the agent at most one minor behind
 * (so agents can be upgraded after the coordinator, within one minor). An agent newer by a minor
 * is served too; it must not use what the coordinator's minor lacks (the coordinator answers with
 * its version on every call, so the agent knows).
 */
export function isServed(agent: ProtocolVersion, coordinator: ProtocolVersion): boolean {
  return agent.major === coordinator.major && agent.minor >= coordinator.minor - 1;
}

/** The versions a coordinator serves, for messages: `1.2 and 1.1` (`1.0` for a major's first minor). */
export function servedVersions(coordinator: ProtocolVersion): string {
  const { major, minor } = coordinator;
  return minor > 0 ? `${major}.${minor} and ${major}.${minor - 1}` : `${major}.${minor}`;
}
