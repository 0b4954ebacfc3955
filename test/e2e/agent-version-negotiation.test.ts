import { afterEach, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { AGENT_VERSION_KEY, PRODUCT_VERSION, PROTOCOL_VERSION, PROTOCOL_VERSION_KEY } from '@medfed/proto';
import { AgentStopError } from '@medfed/node-agent/transport/retry-policy';
import { protocolVersionInterceptor } from '../../coordinator/src/transport/grpc/protocol-version-interceptor.js';
import { startAgent, until, type RunningAgent } from '../../node-agent/test/support/agent-harness.js';
import { FakeCoordinator } from '../../node-agent/test/support/fake-coordinator.js';
import { LEVEL } from '../../node-agent/test/support/memory-log.js';

const [MAJOR, MINOR] = PROTOCOL_VERSION.split('.').map(Number) as [number, number];
const NEWER_RELEASE = '9.9.9';

/** What each call announced, as the coordinator receives it. */
interface Announced { readonly path: string; readonly protocol: unknown; readonly agent: unknown }

/**
 * A real NodeAgent against a scripted gRPC coordinator that negotiates as a coordinator speaking
 * `protocol` would: the coordinator's own interceptor, configured for a newer minor.
 */
describe('the agent and a coordinator ahead of it', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function coordinatorSpeaking(protocol: string, announced: Announced[]): Promise<FakeCoordinator> {
    const record: grpc.ServerInterceptor = (method, call) => new grpc.ServerInterceptingCall(call, {
      start: (next) => next({
        onReceiveMetadata: (md, pass) => {
          announced.push({ path: method.path, protocol: md.get(PROTOCOL_VERSION_KEY)[0], agent: md.get(AGENT_VERSION_KEY)[0] });
          pass(md);
        },
      }),
    });
    const fake = await FakeCoordinator.start({ interceptors: [record, protocolVersionInterceptor({ coordinator: { protocol, product: NEWER_RELEASE } })] });
    cleanup.push(() => fake.close());
    return fake;
  }
  async function agentOn(address: string): Promise<RunningAgent> {
    const a = await startAgent(address);
    cleanup.push(() => a.stop());
    return a;
  }

  it('one minor ahead: the agent is served, announces its versions on every call and warns once to upgrade soon', async () => {
    const announced: Announced[] = [];
    const fake = await coordinatorSpeaking(`${MAJOR}.${MINOR + 1}`, announced);
    const a = await agentOn(fake.address);
    await until('three polls', () => (fake.count('pollTask') >= 3 ? true : undefined));

    const warnings = a.log.lines.filter((l) => l.level === LEVEL.warn && l.msg.includes('upgrade this agent soon'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toBe(`the coordinator speaks protocol ${MAJOR}.${MINOR + 1} (medfed ${NEWER_RELEASE}), this agent ${PROTOCOL_VERSION} `
      + `(medfed ${PRODUCT_VERSION}): it is still served, but the coordinator's next minor will refuse it; upgrade this agent soon`);
    expect(warnings[0]).toMatchObject({ coordinatorProtocol: `${MAJOR}.${MINOR + 1}`, coordinatorVersion: NEWER_RELEASE, agentProtocol: PROTOCOL_VERSION });

    const paths = new Set(announced.map((x) => x.path.split('/').pop()));
    for (const method of ['IssueToken', 'Enroll', 'PollTask']) expect(paths).toContain(method);
    expect(announced.filter((x) => x.protocol !== PROTOCOL_VERSION || x.agent !== PRODUCT_VERSION)).toEqual([]);
    expect(a.settled()).toBe(false);
  });

  it('two minors ahead: the agent is refused on its first call and stops with one fatal line naming the upgrade', async () => {
    const fake = await coordinatorSpeaking(`${MAJOR}.${MINOR + 2}`, []);
    const a = await agentOn(fake.address);
    const outcome = await a.outcome;
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: Error & { code?: string } }).error;
    expect(error).toBeInstanceOf(AgentStopError);
    expect(error.code).toBe('PROTOCOL_VERSION_UNSUPPORTED');
    expect(error.message).toBe(`agent protocol ${PROTOCOL_VERSION} is older than this coordinator serves (${MAJOR}.${MINOR + 2} and ${MAJOR}.${MINOR + 1}): `
      + `upgrade the agent to medfed >= ${NEWER_RELEASE}. The agent stopped: install the medfed release the message names `
      + '(docs/operations.md, "Versions across sites"), then start the agent again.');
    const fatal = a.log.lines.filter((l) => l.level === LEVEL.fatal);
    expect(fatal.map((l) => l.msg)).toEqual([`PROTOCOL_VERSION_UNSUPPORTED: ${error.message}`]);
    expect(fake.count('enroll')).toBe(0);
    expect(fake.count('pollTask')).toBe(0);
  });
});
