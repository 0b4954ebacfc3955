import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { FederationClient, FederationService, PRODUCT_VERSION, PROTOCOL_VERSION } from '@medfed/proto';
import { createDpopProof, GRPC_DPOP, GRPC_HTM, grpcHtu } from '@medfed/proto/auth/index';
import { CoordinatorClient, CoordinatorError } from '@medfed/node-agent/transport/client';
import { enrollAgent, generateAgentKey, loadAgentIdentity, type AgentIdentity, type AgentKey } from '@medfed/node-agent/identity/index';
import { versionNegotiation, type CoordinatorAhead, type VersionAnnouncement } from '@medfed/node-agent/transport/version-negotiation';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';
import { eventually } from '../support/eventually.js';
import { runCli } from '../support/cli.js';

const [MAJOR, MINOR] = PROTOCOL_VERSION.split('.').map(Number) as [number, number];
const ONE_BEHIND = `${MAJOR}.${MINOR - 1}`;
const TWO_BEHIND = `${MAJOR}.${MINOR - 2}`;
const NEXT_MAJOR = `${MAJOR + 1}.0`;
const SERVED = `${PROTOCOL_VERSION} and ${ONE_BEHIND}`;
const insecure = () => grpc.credentials.createInsecure();

interface SiteView { id: string; agentVersion: string | null; protocolVersion: string | null; versionSeenAt: string | null }

describe('protocol version negotiation between agents and the coordinator (real gRPC, PostgreSQL)', () => {
  let t: TestCoordinator;
  const dirs: string[] = [];
  const clients: CoordinatorClient[] = [];

  /** Registers `siteId` and enrols an agent for it through the real EnrollKey RPC, announcing `announce`. */
  const enrol = async (siteId: string, announce?: VersionAnnouncement): Promise<{ identity: AgentIdentity; key: AgentKey }> => {
    const { code } = await t.coordinator.auth.createEnrollmentCode(siteId, 'test');
    const stateDir = await mkdtemp(join(tmpdir(), `medfed-version-${siteId}-`));
    dirs.push(stateDir);
    await enrollAgent({
      coordinator: t.coordinator.grpc, channelCredentials: insecure(), siteId, code, stateDir,
      agentVersion: announce?.agentVersion ?? PRODUCT_VERSION, ...(announce ? { protocol: { announce } } : {}),
    });
    return loadAgentIdentity(stateDir);
  };
  const clientFor = (enrolled: { identity: AgentIdentity; key: AgentKey }, protocol?: ConstructorParameters<typeof CoordinatorClient>[3]) => {
    const c = new CoordinatorClient(t.coordinator.grpc, insecure(), enrolled, protocol);
    clients.push(c);
    return c;
  };
  const heartbeat = (client: CoordinatorClient, siteId: string) =>
    client.heartbeat({ siteId, state: 'idle', jobId: '', round: 0, detail: '', logPath: '' });
  const site = async (id: string): Promise<SiteView> => {
    const res = await fetch(`${t.coordinator.rest}/v1/sites/${id}`, { headers: { authorization: `Bearer ${t.coordinator.adminToken}` } });
    expect(res.status).toBe(200);
    return res.json() as Promise<SiteView>;
  };
  const refusalOf = async (p: Promise<unknown>): Promise<CoordinatorError> => {
    const err = await p.then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(CoordinatorError);
    return err as CoordinatorError;
  };

  beforeAll(async () => {
    expect(MINOR).toBeGreaterThanOrEqual(2); // the cases below need two minors behind the current one
    t = await startTestCoordinator('postgres', { 'auth.allowAnonymousNodes': false });
    for (const id of ['site-now', 'site-behind', 'site-old', 'site-major', 'site-pre']) await t.coordinator.engine.registerSite(id, id);
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await t?.stop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('serves an agent at the current version and answers every call with its own versions', async () => {
    const enrolled = await enrol('site-now');
    const client = clientFor(enrolled);
    await heartbeat(client, 'site-now');

    // The answer's headers carry the coordinator's protocol and release.
    const raw = new FederationClient(t.coordinator.grpc, insecure(), { interceptors: [versionNegotiation()] });
    const md = await client.credentials!.metadataFor(FederationService.heartbeat.path);
    const headers = await new Promise<grpc.Metadata>((resolve, reject) => {
      const call = raw.heartbeat({ siteId: 'site-now', state: 'idle', jobId: '', round: 0, detail: '', logPath: '' }, md, (err) => { if (err) reject(err); });
      call.on('metadata', resolve);
    });
    raw.close();
    expect(headers.get('medfed-protocol-version')).toEqual([PROTOCOL_VERSION]);
    expect(headers.get('medfed-coordinator-version')).toEqual([PRODUCT_VERSION]);

    const seen = await eventually('site-now recorded', async () => ((await site('site-now')).protocolVersion ? site('site-now') : null));
    expect(seen).toMatchObject({ protocolVersion: PROTOCOL_VERSION, agentVersion: PRODUCT_VERSION });
    expect(Math.abs(Date.parse(seen.versionSeenAt!) - Date.now())).toBeLessThan(60_000);
  }, 60_000);

  it('serves an agent one minor behind, tells it once that the coordinator is ahead, and records its version', async () => {
    const announce = { protocolVersion: ONE_BEHIND, agentVersion: '0.0.9-behind' };
    const enrolled = await enrol('site-behind', announce);
    const notices: CoordinatorAhead[] = [];
    const client = clientFor(enrolled, { protocol: { announce, onCoordinatorAhead: (n) => notices.push(n) } });
    await heartbeat(client, 'site-behind');
    await heartbeat(client, 'site-behind');
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ coordinatorProtocol: PROTOCOL_VERSION, coordinatorVersion: PRODUCT_VERSION, agentProtocol: ONE_BEHIND });
    expect(notices[0]!.message).toContain('upgrade this agent soon');

    const seen = await eventually('site-behind recorded', async () => {
      const res = await fetch(`${t.coordinator.rest}/v1/sites`, { headers: { authorization: `Bearer ${t.coordinator.adminToken}` } });
      const s = ((await res.json()) as { sites: SiteView[] }).sites.find((x) => x.id === 'site-behind');
      return s?.protocolVersion ? s : null;
    });
    expect(seen).toMatchObject({ protocolVersion: ONE_BEHIND, agentVersion: '0.0.9-behind' });
    expect(seen.versionSeenAt).toMatch(/^\d{4}-\d\d-\d\dT/);

    const shown = await runCli(['sites', 'show', 'site-behind', '--coordinator', t.coordinator.rest, '--key-file', t.coordinator.adminKeyFile]);
    expect(shown.stderr).toBe('');
    expect(shown.stdout).toMatch(new RegExp(`\\n {2}agent version {2}0\\.0\\.9-behind\\n {2}protocol {7}${ONE_BEHIND.replace('.', '\\.')} \\(announced \\d{4}-`));
  }, 120_000);

  it('counts connected agents by protocol version in /metrics, without site labels', async () => {
    const text = await eventually('both versions counted', async () => {
      const body = await (await fetch(`${t.coordinator.rest}/metrics`)).text();
      return body.includes(`medfed_agent_protocol_version_sites{protocol="${ONE_BEHIND}"}`) ? body : null;
    });
    expect(text).toContain(`medfed_agent_protocol_version_sites{protocol="${PROTOCOL_VERSION}"} 1`);
    expect(text).toContain(`medfed_agent_protocol_version_sites{protocol="${ONE_BEHIND}"} 1`);
    const lines = text.split('\n').filter((l) => l.startsWith('medfed_agent_protocol_version_sites'));
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(/^medfed_agent_protocol_version_sites\{protocol="[0-9.]+"\} \d+$/);
  });

  it('refuses an agent two minors behind at enrolment and on every call, naming the upgrade', async () => {
    const enrolment = await refusalOf(enrol('site-old', { protocolVersion: TWO_BEHIND, agentVersion: '0.0.1' }));
    expect(enrolment.code).toBe('PROTOCOL_VERSION_UNSUPPORTED');
    expect(enrolment.grpcStatus).toBe(grpc.status.FAILED_PRECONDITION);
    expect(enrolment.message).toBe(`agent protocol ${TWO_BEHIND} is older than this coordinator serves (${SERVED}): upgrade the agent to medfed >= ${PRODUCT_VERSION}`);

    // An enrolled site whose agent went back two minors is refused on its calls too, and what it announced is not recorded.
    const enrolled = await enrol('site-old');
    await eventually('site-old recorded', async () => (await site('site-old')).protocolVersion === PROTOCOL_VERSION);
    const old = clientFor(enrolled, { protocol: { announce: { protocolVersion: TWO_BEHIND, agentVersion: '0.0.1' } } });
    const call = await refusalOf(heartbeat(old, 'site-old'));
    expect(call.code).toBe('PROTOCOL_VERSION_UNSUPPORTED');
    expect(call.grpcStatus).toBe(grpc.status.FAILED_PRECONDITION);
    expect(call.message).toBe(`agent protocol ${TWO_BEHIND} is older than this coordinator serves (${SERVED}): upgrade the agent to medfed >= ${PRODUCT_VERSION}`);
    expect(await site('site-old')).toMatchObject({ protocolVersion: PROTOCOL_VERSION, agentVersion: PRODUCT_VERSION });
  }, 60_000);

  it('refuses an agent of another major, naming which side to upgrade', async () => {
    const newer = await refusalOf(enrol('site-major', { protocolVersion: NEXT_MAJOR, agentVersion: '9.0.0' }));
    expect(newer.code).toBe('PROTOCOL_VERSION_UNSUPPORTED');
    expect(newer.grpcStatus).toBe(grpc.status.FAILED_PRECONDITION);
    expect(newer.message).toContain(`agent protocol ${NEXT_MAJOR} is newer than this coordinator serves (${SERVED}`);
    expect(newer.message).toContain(`upgrade the coordinator (medfed ${PRODUCT_VERSION}) to a release that speaks protocol ${MAJOR + 1}`);

    const older = await refusalOf(enrol('site-major', { protocolVersion: `${MAJOR - 1}.${MINOR}`, agentVersion: '0.0.1' }));
    expect(older.code).toBe('PROTOCOL_VERSION_UNSUPPORTED');
    expect(older.grpcStatus).toBe(grpc.status.FAILED_PRECONDITION);
    expect(older.message).toBe(`agent protocol ${MAJOR - 1}.${MINOR} is older than this coordinator serves (${SERVED}): upgrade the agent to medfed >= ${PRODUCT_VERSION}`);
  }, 60_000);

  it('refuses an agent that announces nothing (from before version negotiation) before its enrolment code is spent', async () => {
    const { code } = await t.coordinator.auth.createEnrollmentCode('site-pre', 'test');
    const key = generateAgentKey();
    const md = new grpc.Metadata();
    md.set(GRPC_DPOP, createDpopProof({ privateKey: key.privateKey, publicJwk: key.publicJwk, htm: GRPC_HTM, htu: grpcHtu(t.coordinator.grpc, FederationService.enrollKey.path) }));
    const plain = new FederationClient(t.coordinator.grpc, insecure()); // no announcement at all
    const err = await new Promise<grpc.ServiceError | null>((resolve) => {
      plain.enrollKey({ siteId: 'site-pre', enrollmentCode: code, agentVersion: '0.0.1' }, md, { deadline: Date.now() + 15_000 }, (e) => resolve(e));
    });
    plain.close();
    expect(err?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err?.metadata.get('medfed-code')).toEqual(['PROTOCOL_VERSION_UNSUPPORTED']);
    expect(err?.details).toMatch(/^PROTOCOL_VERSION_UNSUPPORTED: the agent announces no protocol version: it predates version negotiation/);
    expect(err?.details).toContain(`upgrade the agent to medfed >= ${PRODUCT_VERSION}`);
    // A refusal without answer headers carries the coordinator's versions in its trailers.
    expect(err?.metadata.get('medfed-protocol-version')).toEqual([PROTOCOL_VERSION]);

    // The refusal came before the handler: the same code still enrols an agent that announces its version.
    const stateDir = await mkdtemp(join(tmpdir(), 'medfed-version-site-pre-'));
    dirs.push(stateDir);
    const identity = await enrollAgent({ coordinator: t.coordinator.grpc, channelCredentials: insecure(), siteId: 'site-pre', code, stateDir, agentVersion: PRODUCT_VERSION });
    expect(identity.siteId).toBe('site-pre');
  }, 60_000);

  it('answers health checks that announce nothing', async () => {
    const HealthClient = grpc.makeGenericClientConstructor({
      check: {
        path: '/grpc.health.v1.Health/Check', requestStream: false, responseStream: false,
        requestSerialize: (service: string) => Buffer.concat([Buffer.from([0x0a, service.length]), Buffer.from(service)]),
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    }, 'Health');
    const health = new HealthClient(t.coordinator.grpc, insecure());
    const reply = await new Promise<Buffer>((resolve, reject) =>
      (health as unknown as { check: (r: string, cb: (e: Error | null, r: Buffer) => void) => void })
        .check('medfed.v1.Federation', (e, r) => (e ? reject(e) : resolve(r))));
    health.close();
    expect([...reply]).toEqual([0x08, 0x01]); // status: SERVING
  });
});
