import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pino from 'pino';
import type { SiteList } from '@medfed/proto';
import { SiteListApprovals, ensureSiteKeys, loadPinnedSites, pinnedSitesPath } from '@medfed/node-agent/custody/index';
import { runKeyTask } from '@medfed/node-agent/tasks/key-task';
import { runCli } from '../../../test/support/cli.js';

const IDS = ['site-a', 'site-b', 'site-c'] as const;
const FINGERPRINT = /^([A-Z2-7]{4}-){7}[A-Z2-7]{4}$/;
const TIMEOUT = 400_000;

interface Identity {
  siteId: string;
  stewardKeyThumbprint: string;
  keyAgreementKeyThumbprint: string;
  fingerprint: string;
}

let root: string;
const config: Record<string, string> = {};
const identity: Record<string, Identity> = {};
const stateDir = (id: string) => join(root, id, 'state');

/** The agent's part of the ceremony, in this process: asked to sign the job's site list. */
async function signStep(id: string, list: SiteList): Promise<{ code: string; signatures: string[] }> {
  const signatures: string[] = [];
  const dir = stateDir(id);
  const keys = await ensureSiteKeys(dir);
  const pinned = await loadPinnedSites(pinnedSitesPath(dir), { optional: true, self: { siteId: id, stewardKeyThumbprint: keys.steward.thumbprint, keyAgreementKeyThumbprint: keys.keyAgreement.thumbprint } });
  const code = await runKeyTask('job-1', { phase: 'sign', siteList: list }, {
    siteId: id, keys, pinned, approvals: new SiteListApprovals(dir), autoApprove: false, log: pino({ level: 'silent' }),
    submitSignature: async (jws) => { signatures.push(jws); },
    submitKeyMaterial: async () => undefined,
  }).then(() => 'signed', (err: { code?: string }) => err.code ?? 'no code');
  return { code, signatures };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'medfed-site-pinning-'));
  for (const id of [...IDS, 'site-d']) {
    config[id] = join(root, `${id}.yaml`);
    await writeFile(config[id], [
      `siteId: ${id}`, 'coordinator:', '  grpc: localhost:50051', 'data:', `  csv: ${join(root, 'data.csv')}`, '  label: y', `stateDir: ${stateDir(id)}`, '',
    ].join('\n'));
  }
});
afterAll(async () => rm(root, { recursive: true, force: true }));

describe('site pinning, the consortium roster and site-list approval (medfed agent ...)', () => {
  it('prints each site identity, creating its keys on first use', async () => {
    for (const id of [...IDS, 'site-d']) {
      const run = await runCli(['agent', 'identity', '-c', config[id]!, '--json']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      identity[id] = JSON.parse(run.stdout) as Identity;
      expect(identity[id]).toMatchObject({ siteId: id, fingerprint: expect.stringMatching(FINGERPRINT), stewardPublicJwk: { kty: 'OKP', crv: 'Ed25519' } });
      await writeFile(join(root, `${id}.json`), run.stdout);
    }
    expect((await stat(join(stateDir('site-a'), 'custody', 'steward.jwk'))).mode & 0o777).toBe(0o600);
    const text = await runCli(['agent', 'identity', '--state-dir', stateDir('site-a')], { env: { MEDFED_SITE_ID: 'site-a' } });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`fingerprint         ${identity['site-a']!.fingerprint}`);
  }, TIMEOUT);

  it('pins a peer, refuses a malformed thumbprint and a silent re-pin, and re-pins with --replace', async () => {
    const b = identity['site-b']!;
    const pin = ['agent', 'pin-site', '-c', config['site-d']!, '--site', 'site-b', '--steward-thumbprint', b.stewardKeyThumbprint];
    const ok = await runCli([...pin, '--kex-thumbprint', b.keyAgreementKeyThumbprint]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`fingerprint ${b.fingerprint}`);
    const path = pinnedSitesPath(stateDir('site-d'));
    expect((await stat(path)).mode & 0o777).toBe(0o600);

    const bad = await runCli([...pin, '--kex-thumbprint', 'not-a-thumbprint']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('PIN_INVALID');

    const other = identity['site-c']!.keyAgreementKeyThumbprint;
    const conflict = await runCli([...pin, '--kex-thumbprint', other]);
    expect(conflict.code).toBe(8);
    expect(conflict.stderr).toContain(`PIN_CONFLICT: site site-b is pinned with other keys (keyAgreementKeyThumbprint ${b.keyAgreementKeyThumbprint} -> ${other})`);
    const replaced = await runCli([...pin, '--kex-thumbprint', other, '--replace']);
    expect(replaced.code).toBe(0);
    expect(replaced.stdout).toContain(`re-pinned site-b: keyAgreementKeyThumbprint ${b.keyAgreementKeyThumbprint} -> ${other}`);

    const pins = await runCli(['agent', 'pins', '-c', config['site-d']!, '--json']);
    expect(JSON.parse(pins.stdout).sites.map((s: { siteId: string; source: string }) => [s.siteId, s.source])).toEqual([['site-d', 'self'], ['site-b', 'pin-site']]);
  }, TIMEOUT);

  it('builds a roster from identity files, refuses it until every steward signed, then pins every site at import', async () => {
    const roster = join(root, 'roster.json');
    expect((await runCli(['agent', 'roster', 'init', '--consortium', 'rare-net', '--out', roster])).code).toBe(0);
    for (const id of IDS) {
      const add = await runCli(['agent', 'roster', 'add', roster, '--identity', join(root, `${id}.json`)]);
      expect(add.code).toBe(0);
      expect(add.stdout).toContain(identity[id]!.fingerprint);
    }
    const outsider = await runCli(['agent', 'roster', 'sign', roster, '-c', config['site-d']!]);
    expect(outsider.code).toBe(8);
    expect(outsider.stderr).toContain('ROSTER_SITE_MISSING');

    for (const id of ['site-a', 'site-b']) expect((await runCli(['agent', 'roster', 'sign', roster, '-c', config[id]!])).code).toBe(0);
    const early = await runCli(['agent', 'roster', 'import', roster, '-c', config['site-a']!]);
    expect(early.code).toBe(7);
    expect(early.stderr).toContain('ROSTER_UNSIGNED: the stewards of [site-c] have not signed');

    expect((await runCli(['agent', 'roster', 'sign', roster, '-c', config['site-c']!])).code).toBe(0);
    for (const id of IDS) {
      const run = await runCli(['agent', 'roster', 'import', roster, '-c', config[id]!]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
    }
    const pins = await loadPinnedSites(pinnedSitesPath(stateDir('site-b')));
    for (const id of IDS) expect(pins.get(id)?.stewardKeyThumbprint).toBe(identity[id]!.stewardKeyThumbprint);
    expect(JSON.parse(await readFile(roster, 'utf8')).signatures).toHaveLength(3);
  }, TIMEOUT);

  it("signs a job's site list only after approve-site-list, which refuses a list with a site not pinned", async () => {
    const list: SiteList = { job: 'job-1', epoch: 1, sites: IDS.map((id) => ({ siteId: id, keyAgreementJwkThumbprint: identity[id]!.keyAgreementKeyThumbprint })) };
    const notYet = await runCli(['agent', 'approve-site-list', '--job', 'job-1', '-c', config['site-a']!]);
    expect(notYet.stderr).toContain('SITE_LIST_NOT_ANNOUNCED');
    expect(notYet.code).toBe(1);

    expect((await signStep('site-a', list)).code).toBe('HE_SITE_LIST_UNSIGNED');
    const approve = await runCli(['agent', 'approve-site-list', '--job', 'job-1', '-c', config['site-a']!, '--approver', 'steward-lee']);
    expect(approve.stderr).toBe('');
    expect(approve.code).toBe(0);
    expect(approve.stdout).toContain('job job-1, key epoch 1');
    for (const id of IDS) expect(approve.stdout).toMatch(new RegExp(`${id} +${identity[id]!.keyAgreementKeyThumbprint} +${identity[id]!.stewardKeyThumbprint} +yes`));
    const signed = await signStep('site-a', list);
    expect(signed.code).toBe('signed');
    expect(signed.signatures).toHaveLength(1);

    // site-d pinned site-b with another key-agreement key (above) and never pinned site-c.
    const withD: SiteList = { ...list, sites: [...list.sites, { siteId: 'site-d', keyAgreementJwkThumbprint: identity['site-d']!.keyAgreementKeyThumbprint }] };
    expect((await signStep('site-d', withD)).code).toBe('HE_SITE_UNPINNED');
    const refused = await runCli(['agent', 'approve-site-list', '--job', 'job-1', '-c', config['site-d']!]);
    expect(refused.code).toBe(8);
    expect(refused.stdout).toMatch(/site-c +\S+ +- +NO/);
    expect(refused.stderr).toContain('HE_SITE_UNPINNED');
    expect(refused.stderr).toContain('medfed agent roster import');
    expect((await signStep('site-d', withD)).code).toBe('HE_SITE_UNPINNED');
  }, TIMEOUT);
});
