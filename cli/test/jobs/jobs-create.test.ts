import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinatorClient } from '@medfed/node-agent/transport/client';
import { ensureSiteKeys } from '@medfed/node-agent/custody/site-keys';
import { startTestCoordinator, type TestCoordinator } from '../../../test/support/coordinator.js';
import { runCli } from '../../../test/support/cli.js';

/**
 * `medfed jobs template --sites site-a,site-b,site-c`, saved as printed and submitted with
 * `medfed jobs create --spec`, is accepted by a real coordinator (development mode, PGlite) as an
 * ENCRYPTED job: the sites are registered with `medfed sites add` and enrolled with their
 * key-agreement keys over gRPC, as an agent does (an encrypted job's key ceremony needs them).
 */
const SITES = ['site-a', 'site-b', 'site-c'];

describe('medfed jobs template | create | ls | show (CLI as a process)', () => {
  let t: TestCoordinator;
  let work: string;
  let conn: string[];
  const clients: CoordinatorClient[] = [];
  const medfed = (args: string[]) => runCli(args, { cwd: work, env: { MEDFED_API_KEY: undefined, MEDFED_TOKEN: undefined, MEDFED_COORDINATOR_URL: undefined } });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'medfed-cli-jobs-'));
    t = await startTestCoordinator('pglite');
    conn = ['--coordinator', t.coordinator.rest, '--key-file', t.coordinator.adminKeyFile];
    const added = await Promise.all(SITES.map((id) => medfed(['sites', 'add', id, ...conn])));
    for (const r of added) expect([r.code, r.stderr]).toEqual([0, '']);
    for (const id of SITES) {
      // What `medfed agent start` does on first contact: announce the site with its key-agreement key.
      const client = new CoordinatorClient(t.coordinator.grpc);
      clients.push(client);
      await client.enroll(id, 'test', 'test', (await ensureSiteKeys(join(work, id))).keyAgreement.publicJwk);
    }
  }, 240_000);
  afterAll(async () => {
    for (const c of clients) c.close();
    await t?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('creates an encrypted job from the template exactly as printed', async () => {
    const template = await medfed(['jobs', 'template', '--sites', SITES.join(',')]);
    expect([template.code, template.stderr]).toEqual([0, '']);
    expect(template.stdout).toContain('  enabled: true');
    expect(template.stdout).toContain('\nminSites: 3\n');
    const file = join(work, 'job.yaml');
    await writeFile(file, template.stdout);

    const created = await medfed(['jobs', 'create', '--spec', file, ...conn]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^job-[0-9a-f-]{36}\n$/);
    const id = created.stdout.trim();
    const job = await t.coordinator.engine.job(id);
    expect(job.encrypted).toBe(true);
    expect(job.spec.minSites).toBe(3);
    expect(job.spec.sites).toEqual(SITES);

    // The sites beat as running agents do (a site silent past the offline threshold would be named offline instead).
    const beat = () => Promise.all(SITES.map((site, i) => clients[i]!.heartbeat({ siteId: site, state: 'idle', jobId: '', round: 0, detail: '', logPath: '' })));
    await beat();
    const beating = setInterval(() => void beat().catch(() => {}), 2000);
    const [ls, show, json] = await Promise.all([
      medfed(['jobs', 'ls', '--format', 'json', ...conn]),
      medfed(['jobs', 'show', id, ...conn]),
      medfed(['jobs', 'show', id, '--format', 'json', ...conn]),
    ]).finally(() => clearInterval(beating));
    expect(ls.code).toBe(0);
    expect((JSON.parse(ls.stdout) as { jobs: { id: string; status: string }[] }).jobs).toEqual([expect.objectContaining({ id, status: 'running' })]);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(new RegExp(`^my-study \\(${id}\\) {2}running {2}encrypted {2}rounds 0/5`));
    // Nobody has signed the site list yet: the encrypted job waits for its key ceremony.
    expect(show.stdout).toContain('\nwaiting: awaiting key ceremony (epoch 1: signatures from site-a, site-b, site-c)\n');
    expect(show.stdout).toMatch(/\n {2}round 0 \(stats\) open: 0 contribution\(s\)/);
    expect(show.stdout).toMatch(/\n {2}site-a {11}trainer {3}/);
    const view = JSON.parse(json.stdout) as { status: string; waiting: { site: string; reason: string }[]; rounds: unknown[] };
    expect(view.status).toBe('running');
    expect(view.waiting.map((w) => [w.site, w.reason])).toEqual(SITES.map((s) => [s, 'key-ceremony']));
    expect(view.rounds).toHaveLength(1);
  }, 240_000);

  it('prints the created job as JSON with --format json, from a JSON spec', async () => {
    const template = await medfed(['jobs', 'template', '--sites', SITES.join(','), '--name', 'json spec']);
    const { parse } = await import('yaml');
    const file = join(work, 'job.json');
    await writeFile(file, JSON.stringify(parse(template.stdout)));
    const created = await medfed(['jobs', 'create', '--spec', file, '--format', 'json', ...conn]);
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toEqual({ id: expect.stringMatching(/^job-/), status: 'running', currentRound: 0 });
  }, 240_000);

  it('exits 2 for a specification the coordinator refuses (the contradicting defaults), 4 for an unreadable file', async () => {
    // The schema's defaults alone: encryption on, minSites 1.
    const minimal = join(work, 'minimal.yaml');
    await writeFile(minimal, 'name: minimal\nfeatures: [age]\nlabel: outcome\nclasses: ["no", "yes"]\nsites: [site-a, site-b, site-c]\n');
    const garbage = join(work, 'garbage.yaml');
    await writeFile(garbage, '- just\n- a list\n');
    const [refused, notYaml, missing] = await Promise.all([
      medfed(['jobs', 'create', '--spec', minimal, ...conn]),
      medfed(['jobs', 'create', '--spec', garbage, ...conn]),
      medfed(['jobs', 'create', '--spec', join(work, 'absent.yaml'), ...conn]),
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^medfed: error JOB_SPEC_INVALID: the coordinator refused .*minimal\.yaml: encrypted jobs need minSites >= 3/);
    expect(notYaml.code).toBe(2);
    expect(notYaml.stderr).toContain('JOB_SPEC_INVALID');
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('DATA_UNREADABLE');
  }, 240_000);
});
