import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadDataset } from '@medfed/node-agent/data/index';
import { CLINICAL_LABEL, generateClinicalDataset, writeCsv } from '../simulate/index.js';
import { runLocalFederation, sandboxNotice, type FinishedRun } from '../federation/local-federation.js';
import { RestClient } from '../federation/rest-client.js';
import { exportReleasedModelBundle, runModelVerify } from './model.js';
import { releaseWithDevelopmentIdentities } from './release-demo.js';
import { runAuditVerify } from './audit.js';
import { createWriteStream } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';
import { RECOMMENDED_ROUNDS } from '../simulate/defaults.js';
import { jobTemplate } from '../federation/job-template.js';
import { writeSiteFiles } from '../federation/site-files.js';
import { finalTable, RoundProgress } from '../federation/progress.js';
import { CliError, reportAndExit } from '../fail.js';
import { ExitCode } from '../exit-codes.js';
import { stderrLogger } from '../logging.js';
import { parseNonNegativeInt, parsePositiveInt } from '../options.js';

const MARKER = '.medfed-demo';

/** Clears a previous demo's output, but never a folder medfed did not create. */
async function prepareOutDir(dir: string): Promise<void> {
  try {
    const entries = await readdir(dir);
    if (entries.length > 0 && !entries.includes(MARKER)) {
      throw new CliError('DEMO_DIR_NOT_EMPTY', `${dir} exists and was not written by medfed demo; choose another --out`, ExitCode.USAGE);
    }
    await rm(dir, { recursive: true, force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(join(dir, MARKER), 'written by medfed demo\n');
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else out.push(p);
  }
  return out;
}

/** Collects a command's output instead of printing it, and its exit code. */
function captured() {
  const out = { text: '', code: -1 };
  const io = { stdout: (t: string) => { out.text += t; }, stderr: (t: string) => { out.text += t; }, exit: (c: number) => { out.code = c; }, env: {}, fetch };
  return { out, io };
}

/** GET a REST path with a bearer token into a file (the demo's coordinator uses a development CA). */
function download(base: string, path: string, token: string, ca: Buffer, file: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const req = httpsRequest(new URL(path, base), { headers: { authorization: `Bearer ${token}` }, ca }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new CliError('DEMO_EXPORT_FAILED', `GET ${path} answered ${res.statusCode}`, ExitCode.FAILURE));
      }
      pipeline(res, createWriteStream(file)).then(resolvePromise, reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * The demo's last steps, while its coordinator and agents still run: the release of the final
 * model (development identities approve; two sites decrypt and countersign), its offline bundle,
 * and an audit export of the whole run, each verified as a researcher or an auditor would,
 * against the pinned keys.
 */
async function exportAndVerify(out: string, run: FinishedRun, rounds: number, sites: readonly string[]): Promise<string[]> {
  const lines: string[] = [];
  const jwks = join(out, 'trust', 'manifest-jwks.json');
  const logKey = join(out, 'trust', 'checkpoint.vkey');
  const modelDir = join(out, 'model');
  const apiKey = run.coordinator.adminKey!;
  const released = await releaseWithDevelopmentIdentities(run, rounds, sites);
  lines.push(...released.lines);
  await exportReleasedModelBundle({ coordinator: run.coordinator.rest, credential: { apiKey }, ca: run.ca, release: released.release.id, out: modelDir });
  const model = captured();
  model.out.code = await runModelVerify(modelDir, { job: run.jobId, round: String(rounds), jwks, logKey, witnessKey: [] }, model.io);
  lines.push(`model bundle: ${relative(process.cwd(), modelDir) || '.'}/ (released plaintext model, round ${rounds}; medfed model export --release ${released.release.id})`);
  lines.push(`  medfed model verify: ${model.out.code === 0 ? model.out.text.split('\n')[0] : `REFUSED: ${model.out.text.trim()}`}`);
  const { apiKey: auditorKey } = await run.rest.createApiKey({ name: 'demo-auditor', role: 'auditor', expiresInDays: 1 });
  const auditor = new RestClient(run.coordinator.rest, { apiKey: auditorKey }, { ca: run.ca });
  const auditFile = join(out, 'audit.tar.gz');
  await run.coordinator.anchorer.anchorNow();
  await download(run.coordinator.rest, '/v1/audit/export', await auditor.accessToken(), run.ca, auditFile);
  const audit = captured();
  audit.out.code = await runAuditVerify(auditFile, { jwks, logKey }, audit.io);
  const verdict = audit.out.text.trim().split('\n');
  lines.push(`audit export: ${relative(process.cwd(), auditFile)}`);
  lines.push(`  medfed audit verify: ${verdict[verdict.length - 1]}${audit.out.code === 0 ? ` (${verdict.filter((l) => /chain|signature|tlog/.test(l)).map((l) => l.trim().replace(/\s+/g, ' ')).join('; ')})` : ''}`);
  if (model.out.code !== 0 || audit.out.code !== 0) throw new CliError('DEMO_VERIFY_FAILED', lines.join('\n'), ExitCode.VERIFY_FAILED);
  return lines;
}

export function register(program: Command): void {
  program.command('demo')
    .description('an embedded coordinator and 3 hospital agents on this machine, trained on a synthetic clinical cohort')
    .option('--out <dir>', 'where the demo writes everything', './medfed-demo')
    .option('--rounds <r>', 'training rounds', parsePositiveInt, RECOMMENDED_ROUNDS)
    .option('--patients <n>', 'size of the synthetic cohort', parsePositiveInt, 3000)
    .option('--seed <s>', 'seed for the cohort, the split and training', parseNonNegativeInt, 7)
    .option('--plaintext', 'development only: send updates unencrypted (encryption is the default)', false)
    .option('--log-level <level>', 'log level on stderr', 'warn')
    .action(async (opts: { out: string; rounds: number; patients: number; seed: number; logLevel: string; plaintext: boolean }) => {
      try {
        const out = resolve(opts.out);
        await prepareOutDir(out);
        const log = stderrLogger(opts.logLevel, { component: 'demo' });
        const cohortCsv = join(out, 'data', 'cohort.csv');
        await mkdir(join(out, 'data'), { recursive: true });
        await writeCsv(cohortCsv, generateClinicalDataset(opts.patients, opts.seed));
        const dataset = await loadDataset(cohortCsv, { label: CLINICAL_LABEL });
        const { readCsv } = await import('@medfed/node-agent/data/read-csv');
        const split = await writeSiteFiles(await readCsv(cohortCsv), {
          dir: join(out, 'data'), label: CLINICAL_LABEL, sites: 3, scheme: 'dirichlet:0.5', seed: opts.seed, testFraction: 0.2,
        });
        const job = jobTemplate(dataset, { name: 'demo: readmission risk', rounds: opts.rounds, seed: opts.seed, minSites: 3, encrypted: !opts.plaintext });
        process.stdout.write(`medfed demo: ${split.sites.length - 1} hospitals (non-IID split of ${split.trainRows.length} synthetic patients), `
          + `1 evaluator with ${split.testRows.length} held-out patients, ${opts.rounds} rounds of FedAvg, `
          + `${opts.plaintext ? 'PLAINTEXT updates (development)' : 'updates encrypted (BFV) under a key only the sites hold'}\n`
          + `features: ${job.features.join(', ')}; label: ${job.label} (${job.classes.join(' / ')})\n`
          + 'development site stewards approve automatically (a real site needs medfed agent approve --job J --ethics-ref REF)\n');
        // The sites would fall back to unsandboxed training and say so only in their own logs.
        const notice = await sandboxNotice();
        process.stdout.write(`${notice ?? 'training runs sandboxed (bubblewrap, seccomp, resource limits)'}\n\n`);
        const progress = new RoundProgress();
        const started = Date.now();
        const verdicts: string[] = [];
        const run = await runLocalFederation({
          workDir: out, sites: split.sites, label: CLINICAL_LABEL, spec: job, log, inMemoryDatabase: false,
          onUpdate: (v) => progress.update(v),
          afterRun: async (finished) => { verdicts.push(...(await exportAndVerify(out, finished, opts.rounds, split.sites.map((s) => s.id)))); },
        });
        progress.finish();
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        await writeFile(join(out, 'summary.json'), `${JSON.stringify({ job: run.view, coordinator: run.coordinator }, null, 2)}\n`);
        const finalModel = run.view.models.find((m) => m.round === opts.rounds);
        process.stdout.write(`\n${finalTable(run.view)}\n\n`);
        process.stdout.write(`outcome: ${run.view.status} in ${seconds} s; final model ${finalModel?.id} sha256 ${finalModel?.sha256}\n\n`);
        for (const v of verdicts) process.stdout.write(`${v}\n`);
        process.stdout.write('\n');
        process.stdout.write(`written under ${relative(process.cwd(), out) || '.'}/:\n`);
        const files = (await listFiles(out)).filter((f) => !f.includes(`${join('coordinator', 'db')}`) && !f.endsWith(MARKER));
        const groups = new Map<string, number>();
        for (const f of files) {
          const rel = relative(out, f);
          const key = rel.startsWith('coordinator/blobs') ? 'coordinator/blobs/ (models and updates)' : rel.includes('/state/') ? `${rel.split('/state/')[0]}/state/` : rel;
          groups.set(key, (groups.get(key) ?? 0) + 1);
        }
        for (const [key, count] of [...groups.entries()].sort()) {
          process.stdout.write(`  ${key}${count > 1 ? `  (${count} files)` : ''}\n`);
        }
        const dbDir = join(out, 'coordinator', 'db');
        if (await stat(dbDir).then(() => true, () => false)) process.stdout.write('  coordinator/db/ (embedded PostgreSQL)\n');
        process.exit(0);
      } catch (err) {
        reportAndExit(err);
      }
    });
}
