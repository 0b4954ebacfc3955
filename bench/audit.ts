// Audit trail at scale: export a compliance bundle of N events from PostgreSQL, then verify it offline.
// Targets (docs/audit-format.md): each under 60 s and 500 MB peak memory at 1,000,000 events.
//
//   node_modules/.bin/tsc --build && node_modules/.bin/node bench/audit.ts [--events N] [--json]
//
// PostgreSQL: MEDFED_BENCH_PG (default postgres://postgres@127.0.0.1:5432/test); the bench creates a
// fresh database, fills it in bulk with a precomputed chain, and drops it at the end. Export and
// verification each run in a child process so that their peak RSS is their own. Baselines, measured
// in the same run: reading the same rows without doing anything (export), and gunzip + untar + line
// count of the same bundle (verification).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { freshBenchDatabase } from './lib/bench-database.ts';
import {
  canonicalJson, chainHashOfCanonical, eventJob, GENESIS_PREV_HASH, readTarGz, throwawaySigner, toAuditEvent, verifyAuditBundle,
} from '@medfed/proto/audit/index';
import { exportAuditBundle, auditRowPages } from '@medfed/coordinator/audit/index';
import { openPostgres, migrate } from '@medfed/coordinator/storage/index';

const TARGET_SECONDS = 60;
const TARGET_MB = 500;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

const phase = arg('phase');
const json = process.argv.includes('--json');

/** One child-process phase: run it, print {seconds, maxRssMb} as JSON on the last line. */
async function runPhase(): Promise<void> {
  const url = arg('url')!;
  const file = arg('file')!;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let extra: Record<string, unknown> = {};
  if (phase === 'export') {
    const db = openPostgres(url, { max: 2 });
    const signer = await throwawaySigner();
    const { manifest } = await exportAuditBundle(db, {
      filter: {}, out: file, signer: signer.sign, jwks: signer.jwks, pageSize: Number(arg('page') ?? 2000),
      requestedBy: { actor: 'user:bench@coord', role: 'auditor', rule: 'bench' },
    });
    await db.close();
    extra = { entries: manifest.chain.entries };
  } else if (phase === 'read-baseline') {
    const db = openPostgres(url, { max: 2 });
    let rows = 0;
    for await (const page of auditRowPages(db, { fromSeq: 1, pageSize: 5000 })) rows += page.length;
    await db.close();
    extra = { entries: rows };
  } else if (phase === 'verify') {
    const report = await verifyAuditBundle(file);
    if (!report.ok) throw new Error(`bundle did not verify: ${JSON.stringify(report.problems[0])}`);
    extra = { entries: report.chain?.entries ?? 0 };
  } else if (phase === 'untar-baseline') {
    let lines = 0;
    await readTarGz(createReadStream(file), () => ({ onData: (c: Buffer) => { for (let i = c.indexOf(10); i !== -1; i = c.indexOf(10, i + 1)) lines++; }, onEnd: () => {} }));
    extra = { entries: lines };
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ seconds, cpuSeconds, maxRssMb, ...extra })}\n`);
}

function child(name: string, url: string, file: string): { seconds: number; cpuSeconds: number; maxRssMb: number; entries: number } {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--phase', name, '--url', url, '--file', file, '--page', arg('page') ?? '2000'], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(out.trim().split('\n').pop()!);
}

/** Fills audit_events with n chained events, 10,000 rows per statement (arrays unnested server-side). */
async function prefill(db: ReturnType<typeof openPostgres>, n: number): Promise<void> {
  const chunk = 10_000;
  const t0 = Date.parse('2025-01-01T00:00:00.000Z');
  let prev = GENESIS_PREV_HASH;
  const sites = ['site-a', 'site-b', 'site-c', 'site-d'];
  for (let start = 1; start <= n; start += chunk) {
    const cols: unknown[][] = Array.from({ length: 11 }, () => []);
    for (let seq = start; seq < Math.min(start + chunk, n + 1); seq++) {
      const site = sites[seq % sites.length]!;
      const job = `j-${seq % 7}`;
      const event = toAuditEvent(seq % 5 === 0
        ? { time: new Date(t0 + seq * 100).toISOString(), actor: 'user:mallory@example', role: 'researcher', site: null, action: 'model.download', resource: 'model:m-1', outcome: 'denied', rule: 'rbac:release-required', request_id: `r-${seq}`, details: { job, model: 'm-1', reason: 'MODEL_NOT_RELEASED' } }
        : { time: new Date(t0 + seq * 100).toISOString(), actor: `site:${site}`, role: 'site', site, action: 'submission.receive', resource: `job:${job}/round:${seq % 50}`, outcome: 'success', rule: 'policy:enrolled-site', request_id: `r-${seq}`, details: { job, round: seq % 50, sha256: 'ab'.repeat(32), bytes: 4096 + (seq % 1000) } }, seq);
      const jcs = canonicalJson(event);
      const hash = chainHashOfCanonical(prev, jcs);
      const row = [seq, event.time, event.action, event.actor, event.role, event.site, eventJob(event), event.outcome, jcs, prev, hash];
      row.forEach((v, i) => cols[i]!.push(v));
      prev = hash;
    }
    await db.query(`INSERT INTO audit_events (seq, at, action, actor, role, site, job, outcome, event, prev_hash, hash)
      SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])`, cols);
  }
  await db.query('UPDATE audit_head SET seq = $1, hash = $2', [n, prev]);
  // As after any bulk load: set hint bits and statistics now, so the first timed read does not pay for them.
  await db.query('VACUUM ANALYZE audit_events');
}

async function main(): Promise<void> {
  const events = Number(arg('events') ?? 1_000_000);
  const benchDb = await freshBenchDatabase();
  const url = new URL(benchDb.url);
  const dir = mkdtempSync(join(tmpdir(), 'medfed-bench-audit-'));
  const file = join(dir, 'bundle.tar.gz');
  try {
    const db = openPostgres(url.toString(), { max: 2 });
    await migrate(db);
    const f0 = performance.now();
    await prefill(db, events);
    const prefillSeconds = (performance.now() - f0) / 1000;
    await db.close();

    const readBase = child('read-baseline', url.toString(), file);
    const exp = child('export', url.toString(), file);
    const bundleMb = statSync(file).size / 1024 / 1024;
    const untarBase = child('untar-baseline', url.toString(), file);
    const ver = child('verify', url.toString(), file);
    const rows = [
      { step: 'export', events: exp.entries, seconds: exp.seconds, cpuSeconds: exp.cpuSeconds, maxRssMb: exp.maxRssMb, baseline: 'read rows', baselineSeconds: readBase.seconds, ratio: exp.seconds / readBase.seconds, pass: exp.seconds < TARGET_SECONDS && exp.maxRssMb < TARGET_MB },
      { step: 'verify', events: ver.entries, seconds: ver.seconds, cpuSeconds: ver.cpuSeconds, maxRssMb: ver.maxRssMb, baseline: 'gunzip+untar', baselineSeconds: untarBase.seconds, ratio: ver.seconds / untarBase.seconds, pass: ver.seconds < TARGET_SECONDS && ver.maxRssMb < TARGET_MB },
    ];
    if (json) {
      process.stdout.write(`${JSON.stringify({ events, prefillSeconds, bundleMb, targets: { seconds: TARGET_SECONDS, maxRssMb: TARGET_MB }, results: rows })}\n`);
    } else {
      process.stdout.write(`audit bench: ${events} events (prefill ${prefillSeconds.toFixed(1)} s, bundle ${bundleMb.toFixed(1)} MB)\n`);
      process.stdout.write(`${'step'.padEnd(8)}${'events'.padStart(10)}${'seconds'.padStart(10)}${'cpu s'.padStart(8)}${'peak MB'.padStart(10)}  ${'baseline'.padEnd(14)}${'base s'.padStart(8)}${'ratio'.padStart(8)}  target\n`);
      for (const r of rows) {
        process.stdout.write(`${r.step.padEnd(8)}${String(r.events).padStart(10)}${r.seconds.toFixed(2).padStart(10)}${r.cpuSeconds.toFixed(2).padStart(8)}${r.maxRssMb.toFixed(0).padStart(10)}  ${r.baseline.padEnd(14)}${r.baselineSeconds.toFixed(2).padStart(8)}${`${r.ratio.toFixed(1)}x`.padStart(8)}  ${r.pass ? 'met' : 'MISSED'} (<${TARGET_SECONDS} s, <${TARGET_MB} MB)\n`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await benchDb.drop();
  }
}

if (phase) await runPhase();
else await main();
