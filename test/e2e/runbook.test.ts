import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { appendFile, chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { freePort } from '../support/free-port.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCsv } from '@medfed/node-agent/data/read-csv';
import { CLINICAL_LABEL, generateClinicalDataset, writeCsv } from '../../cli/src/simulate/index.js';
import { writeSiteFiles } from '../../cli/src/federation/site-files.js';
import { freshDatabase, type TestDb } from '../../coordinator/test/support/databases.js';
import { MAIN } from '../support/cli.js';
import { requireBinary } from '../support/require-binary.js';
import {
  developmentOnlyFindings, expectedStructure, HOSPITALS, masker, parseRunbook, renderTranscript, runBlock, ServiceBlock, structureOfTranscript,
  type BlockResult, type Party, type PartyContext, type RunbookBlock, type TranscriptEntry,
} from '../support/runbook.js';

/**
 * docs/deploy-consortium.md is a runbook and this is its test: every marked block runs, in order, as
 * its own bash process, in the directory and environment of the party that runs it (the coordinator
 * host, three hospitals, the research coordinator, the auditor), against a real PostgreSQL database,
 * with the CA and certificate the runbook makes with openssl, gRPC and REST over TLS on loopback
 * sockets, a production coordinator and production agents training in bubblewrap. Daemons (the
 * coordinator, the agents) run in the background as the runbook's service blocks say; the runbook's
 * own wait loops say when they are ready. The masked transcript goes to
 * test-artifacts/runbook/transcript.txt; its commands must be those of docs/runbook-transcript.txt.
 */

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const DOC = 'docs/deploy-consortium.md';
const EXPECTED_TRANSCRIPT = 'docs/runbook-transcript.txt';
const ARTIFACTS = join(REPO, 'test-artifacts', 'runbook');
/** Generous for one block on a busy 2-core machine: the longest ones wait for the training rounds or the release. */
const BLOCK_TIMEOUT_MS = 10 * 60_000;
/** A small cohort, split over the three hospitals: enough rows for two rounds of a small model. */
const PATIENTS = 600;
const SEED = 11;

/** The environment every block starts from: the test's, minus anything that would change medfed or Node.js. */
function baseEnv(bin: string, home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('MEDFED_') && !k.startsWith('NODE_') && !k.startsWith('npm_') && k !== 'DATABASE_URL') env[k] = v;
  }
  return { ...env, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: home, LC_ALL: 'C.UTF-8' };
}

/** Why a block failed: how it ended, its commands and output, and the last lines of every service. */
async function failureReport(block: RunbookBlock, result: BlockResult, services: readonly ServiceBlock[]): Promise<string> {
  const dead = services.filter((s) => s.exited);
  const how = result.timedOut ? `timed out after ${BLOCK_TIMEOUT_MS / 1000} s`
    : dead.length > 0 ? `a service died: ${dead.map((s) => s.name).join(', ')}` : `exit ${result.exit}${result.signal ? ` (${result.signal})` : ''}`;
  const tails = await Promise.all(services.map(async (s) => `--- ${s.name}${s.exited ? ` (EXITED ${JSON.stringify(s.exited)})` : ''}, last lines of ${s.logFile}:\n${await s.tail(25)}`));
  return [how, `--- its commands (line ${block.line} of ${DOC}):`, block.code, '--- its output:', result.output.slice(-6000), ...tails].join('\n');
}

/**
 * The parties' directories, data and environments under `root`: the coordinator host, three
 * hospitals (each with its own export of the synthetic cohort, split as the demo splits it), the
 * research coordinator and the auditor, `medfed` on PATH, free loopback ports; and the masker that
 * turns this run's paths and ports back into the runbook's variables.
 */
async function prepareParties(root: string, databaseUrl: string): Promise<{ contexts: Map<Party, PartyContext>; mask: (text: string) => string }> {
  const dirs = {
    bin: join(root, 'bin'), exchange: join(root, 'exchange'), coordinator: join(root, 'coordinator'),
    research: join(root, 'research'), auditor: join(root, 'auditor'), data: join(root, 'cohort'),
  };
  for (const d of Object.values(dirs)) await mkdir(d, { recursive: true, mode: 0o700 });
  // `medfed` as the runbook calls it: the built CLI under the Node.js 24 that runs this test.
  await writeFile(join(dirs.bin, 'medfed'), `#!/bin/sh\nexec '${process.execPath}' '${MAIN}' "$@"\n`);
  await chmod(join(dirs.bin, 'medfed'), 0o755);

  const cohort = join(dirs.data, 'cohort.csv');
  await writeCsv(cohort, generateClinicalDataset(PATIENTS, SEED));
  const split = await writeSiteFiles(await readCsv(cohort), { dir: dirs.data, label: CLINICAL_LABEL, sites: 3, scheme: 'iid', seed: SEED, testFraction: 0.2 });
  const hospitals = new Map<Party, { dir: string; csv: string }>();
  for (const [i, site] of HOSPITALS.entries()) {
    const dir = join(root, site);
    await mkdir(join(dir, 'export'), { recursive: true, mode: 0o700 });
    const csv = join(dir, 'export', 'cohort.csv');
    await copyFile(split.sites[i]!.csv, csv);
    hospitals.set(site, { dir, csv });
  }

  const [restPort, grpcPort] = [await freePort(), await freePort()];
  const common = { COORD_HOST: 'localhost', REST_PORT: String(restPort), GRPC_PORT: String(grpcPort), EXCHANGE: dirs.exchange };
  const party = (cwd: string, vars: Record<string, string>): PartyContext => ({ cwd, env: { ...baseEnv(dirs.bin, cwd), ...common, ...vars } });
  const contexts = new Map<Party, PartyContext>([
    ['coordinator', party(dirs.coordinator, { COORD: dirs.coordinator, LISTEN_ADDRESS: '127.0.0.1', DATABASE_URL: databaseUrl })],
    ['research coordinator', party(dirs.research, { RESEARCH_DIR: dirs.research })],
    ['auditor', party(dirs.auditor, { AUDIT_DIR: dirs.auditor })],
    ...[...hospitals].map(([site, h]): [Party, PartyContext] => [site, party(h.dir, { SITE: site, HOSPITAL_DIR: h.dir, DATA_CSV: h.csv })]),
  ]);
  const mask = masker([
    [databaseUrl, '$DATABASE_URL'], [dirs.coordinator, '$COORD'], [dirs.exchange, '$EXCHANGE'], [dirs.research, '$RESEARCH_DIR'], [dirs.auditor, '$AUDIT_DIR'],
    ...[...hospitals.values()].flatMap((h): [string, string][] => [[h.csv, '$DATA_CSV'], [h.dir, '$HOSPITAL_DIR']]),
    [root, '$ROOT'],
    ...[[String(restPort), '$REST_PORT'], [String(grpcPort), '$GRPC_PORT']].flatMap(([port, name]): [string, string][] =>
      [[`localhost:${port}`, `localhost:${name}`], [`127.0.0.1:${port}`, `127.0.0.1:${name}`], [`port ${port}`, `port ${name}`]]),
  ]);
  return { contexts, mask };
}

describe(`${DOC}: a coordinator and three hospitals, from nothing to a released model, by the runbook's commands alone`, () => {
  let markdown: string;
  let blocks: RunbookBlock[];

  beforeAll(async () => {
    markdown = await readFile(join(REPO, DOC), 'utf8');
    blocks = parseRunbook(markdown);
  });

  it('marks every command block with a known party, and no block nor option is development-only', () => {
    expect(blocks.length).toBeGreaterThan(10);
    const parties = new Set(blocks.flatMap((b) => b.parties));
    expect([...parties].sort()).toEqual(['auditor', 'coordinator', ...HOSPITALS, 'research coordinator'].sort());
    expect(blocks.filter((b) => b.service).map((b) => b.title)).toEqual(['coordinator (service)', 'each hospital (service)']);
    expect(developmentOnlyFindings(markdown, blocks)).toEqual([]);
  });

  it(`lists in ${EXPECTED_TRANSCRIPT} exactly the runbook's commands, in order, each exiting 0`, async () => {
    const expected = await readFile(join(REPO, EXPECTED_TRANSCRIPT), 'utf8');
    expect(structureOfTranscript(expected)).toEqual(expectedStructure(blocks));
  });

  describe('run as written', () => {
    let root: string;
    let db: TestDb;
    const services: ServiceBlock[] = [];
    const entries: TranscriptEntry[] = [];
    let mask: (text: string) => string = (t) => t;
    let passed = false;

    afterAll(async () => {
      // Agents first, as a hospital would stop them, then the coordinator.
      for (const s of [...services].reverse()) await s.stop().catch(() => {});
      await mkdir(ARTIFACTS, { recursive: true });
      if (entries.length > 0) await writeFile(join(ARTIFACTS, 'transcript.txt'), renderTranscript(entries, mask, DOC));
      await db?.drop().catch(() => {});
      if (root && passed) await rm(root, { recursive: true, force: true });
    }, 60_000);

    it('trains an encrypted job in production, releases the model with the stewards\' and the auditor\'s approval, and verifies the model and the audit export against the pinned trust anchors', async () => {
      for (const [program, pkg] of [['bwrap', 'bubblewrap'], ['prlimit', 'util-linux'], ['openssl', 'openssl'], ['jq', 'jq'], ['curl', 'curl']] as const) {
        requireBinary(program, pkg);
      }
      if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npx tsc --build); the runbook runs the built medfed command`);

      root = await mkdtemp(join(tmpdir(), 'medfed-runbook-'));
      await rm(ARTIFACTS, { recursive: true, force: true });
      await mkdir(ARTIFACTS, { recursive: true });
      db = await freshDatabase('postgres', { migrate: false });
      const world = await prepareParties(root, db.url!);
      mask = world.mask;

      for (const block of blocks) {
        for (const party of block.parties) {
          const context = world.contexts.get(party)!;
          const name = `block ${block.index} (${block.step}) for ${party}`;
          if (block.service) {
            services.push(ServiceBlock.start(`${String(block.index).padStart(2, '0')}-${party}`, block.code, context, ARTIFACTS));
            entries.push({ block, party, exit: null, output: '' });
            continue;
          }
          const abort = AbortSignal.any(services.map((s) => s.died.signal));
          const result = await runBlock(block.code, context, { timeoutMs: BLOCK_TIMEOUT_MS, abort });
          entries.push({ block, party, exit: result.exit, output: result.output });
          await appendFile(join(ARTIFACTS, 'timings.txt'), `${result.seconds.toFixed(1).padStart(7)} s  exit ${result.exit}  ${name}\n`);
          if (result.exit !== 0) throw new Error(`${name} failed: ${await failureReport(block, result, services)}\nthe temporary files stay in ${root}`);
        }
      }

      // The outcome, from the coordinator's database: the job completed, its final model was released.
      const jobs = (await db.db.query<{ id: string; status: string; encrypted: boolean }>('SELECT id, status, encrypted FROM jobs')).rows;
      expect(jobs).toEqual([expect.objectContaining({ status: 'completed', encrypted: true })]);
      const releases = (await db.db.query<{ state: string; job_id: string }>('SELECT state, job_id FROM releases')).rows;
      expect(releases).toEqual([{ state: 'released', job_id: jobs[0]!.id }]);
      // Every hospital's update of every training round came with a sandboxed attestation the coordinator verified.
      const trainRounds = (await db.db.query<{ round: number }>(
        "SELECT round FROM rounds WHERE job_id = $1 AND kind = 'train' AND status = 'closed' ORDER BY round", [jobs[0]!.id])).rows.map((r) => r.round);
      expect(trainRounds.length).toBeGreaterThan(0);
      const received = (await db.db.query<{ site: string; event: string }>(
        "SELECT site, event FROM audit_events WHERE job = $1 AND action = 'submission.receive' AND outcome = 'success'", [jobs[0]!.id])).rows
        .map((r) => ({ site: r.site, ...(JSON.parse(r.event) as { details: { round: number; verdict?: string; sandboxed?: boolean } }).details }));
      for (const round of trainRounds) {
        expect(received.filter((d) => d.round === round).map((d) => [d.site, d.verdict, d.sandboxed]).sort())
          .toEqual(HOSPITALS.map((site) => [site, 'pass', true]));
      }
      // The offline verifications, as the researcher and the auditor ran them, against the pinned trust bundle.
      const verify = (command: RegExp) => entries.filter((e) => command.test(e.block.code));
      expect(verify(/medfed model verify .*--trust/).map((e) => [e.exit, /^verified /m.test(e.output)])).toEqual([[0, true]]);
      expect(verify(/medfed audit verify .*--trust/).map((e) => [e.exit, /^OK$/m.test(e.output)])).toEqual([[0, true]]);

      const transcript = renderTranscript(entries, mask, DOC);
      await writeFile(join(ARTIFACTS, 'transcript.txt'), transcript);
      if (process.env.MEDFED_RUNBOOK_UPDATE === '1') await writeFile(join(REPO, EXPECTED_TRANSCRIPT), transcript);
      const expected = await readFile(join(REPO, EXPECTED_TRANSCRIPT), 'utf8');
      expect(structureOfTranscript(transcript)).toEqual(structureOfTranscript(expected));
      passed = true;
    }, 15 * 60_000);
  });
});
