import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadAgentConfig } from '@medfed/node-agent';
import { ApprovalError, ApprovalStore, SPEC_DIGEST, type JobAnnouncement } from '@medfed/node-agent/approvals/index';
import { reportAndExit } from '../fail.js';
import { ExitCode } from '../exit-codes.js';

/** The agent's state dir: --state-dir, else the config file's stateDir, else the default. */
export async function stateDirOf(opts: { stateDir?: string | undefined; config?: string | undefined }): Promise<string> {
  if (opts.stateDir !== undefined) return resolve(opts.stateDir);
  if (opts.config !== undefined) return resolve((await loadAgentConfig({ file: opts.config, env: {} })).stateDir);
  return resolve('./medfed-agent');
}

/**
 * `medfed agent approve --job J --ethics-ref REF`: the site steward's approval of one job, for the
 * exact spec the coordinator announced to this agent (a changed spec needs a new approval).
 * `medfed agent approvals`: what is approved and what waits for review.
 */
export function register(program: Command): void {
  const agent = program.commands.find((c) => c.name() === 'agent') ?? program.command('agent').description('run a hospital node agent');
  agent.command('approve')
    .description("approve a job at this site (steward): records the job's spec digest and the ethics approval or data-use agreement reference")
    .requiredOption('--job <id>', 'the job id')
    .requiredOption('--ethics-ref <ref>', 'ethics committee approval or data-use agreement reference')
    .option('--note <text>', 'a note kept with the approval')
    .option('--spec-digest <sha256>', 'the spec digest to approve (default: the one the coordinator announced to this agent; given, it must match it)')
    .option('--approver <name>', 'who approves (default: the logged-in user)')
    .option('-c, --config <file>', "the agent's configuration file (for its stateDir)")
    .option('--state-dir <dir>', "the agent's state directory")
    .option('--json', 'print the approval as JSON')
    .action(async (opts: { job: string; ethicsRef: string; note?: string; specDigest?: string; approver?: string; config?: string; stateDir?: string; json?: boolean }) => {
      try {
        const store = new ApprovalStore(await stateDirOf(opts));
        const announced = await store.announcement(opts.job);
        const specDigest = digestToApprove(opts.job, opts.specDigest, announced);
        const approval = await store.approve({
          jobId: opts.job, specDigest, ethicsRef: opts.ethicsRef, ...(opts.note === undefined ? {} : { note: opts.note }),
          approvedAt: new Date().toISOString(), approver: opts.approver ?? userInfo().username, mode: 'steward',
        });
        if (opts.json) process.stdout.write(`${JSON.stringify({ event: 'job-approved', ...approval })}\n`);
        else {
          process.stdout.write(`approved job ${approval.jobId} (spec ${approval.specDigest}) under ${approval.ethicsRef}, by ${approval.approver}\n`);
          if (announced !== undefined) process.stdout.write(`${describeSpec(announced.spec)}\n`);
          process.stdout.write('the agent runs this job\'s tasks from its next poll; a changed spec is refused until approved again\n');
        }
        process.exit(ExitCode.OK);
      } catch (err) {
        reportAndExit(err);
      }
    });

  agent.command('approvals')
    .description('list the jobs approved at this site and those announced but waiting for the steward')
    .option('-c, --config <file>', "the agent's configuration file (for its stateDir)")
    .option('--state-dir <dir>', "the agent's state directory")
    .action(async (opts: { config?: string; stateDir?: string }) => {
      try {
        const { approvals, announced } = await new ApprovalStore(await stateDirOf(opts)).list();
        process.stdout.write(`${JSON.stringify({ approvals, waiting: announced.map(({ spec, ...a }) => ({ ...a, summary: describeSpec(spec) })) }, null, 2)}\n`);
        process.exit(ExitCode.OK);
      } catch (err) {
        reportAndExit(err);
      }
    });
}

function digestToApprove(jobId: string, given: string | undefined, announced: JobAnnouncement | undefined): string {
  if (given !== undefined) {
    const digest = given.trim().toLowerCase();
    if (!SPEC_DIGEST.test(digest)) throw new ApprovalError('APPROVAL_INVALID', '--spec-digest must be 64 hex characters (SHA-256)');
    if (announced !== undefined && announced.specDigest !== digest) {
      throw new ApprovalError('APPROVAL_SPEC_MISMATCH', `job ${jobId}: the coordinator announced spec ${announced.specDigest}, not ${digest}`);
    }
    return digest;
  }
  if (announced === undefined) {
    throw new ApprovalError('APPROVAL_SPEC_UNKNOWN', `this agent has not been sent job ${jobId} yet; start the agent so the job is announced, or give --spec-digest`);
  }
  return announced.specDigest;
}

/**
 * What the steward approves, in one line: for a training job its features, label and model; for a
 * statistics query the fields it reads (aggregated and grouped by), that it has no label, and the
 * query itself (statistics, groups, cell suppression, noise). Defensive: the spec is as announced.
 */
export function describeSpec(spec: unknown): string {
  const s = (spec ?? {}) as Record<string, unknown>;
  const list = (x: unknown) => (Array.isArray(x) && x.length > 0 ? x.map(String).join(', ') : 'none');
  const name = `  job "${String(s.name ?? '?')}"`;
  const sites = `sites ${list(s.sites)}${Array.isArray(s.evaluators) && s.evaluators.length ? `; evaluators ${list(s.evaluators)}` : ''}`;
  const encrypted = (s.encryption as { enabled?: unknown } | undefined)?.enabled === true ? 'encrypted' : 'plaintext';
  if (s.kind === 'statistics') {
    const q = (s.statistics ?? {}) as Record<string, unknown>;
    const fields = Array.isArray(q.fields) ? (q.fields as { name?: unknown; lower?: unknown; upper?: unknown }[]) : [];
    const groups = Array.isArray(q.groupBy) ? (q.groupBy as { field?: unknown; categories?: unknown }[]) : [];
    const read = [...fields.map((f) => `${String(f.name)} [${String(f.lower)}, ${String(f.upper)}]`), ...groups.map((g) => `${String(g.field)} (grouped by)`)];
    const quantiles = Array.isArray(q.statistics) && q.statistics.includes('quantiles') && Array.isArray(q.quantiles) ? ` at ${list(q.quantiles)}` : '';
    const by = groups.length ? ` by ${groups.map((g) => `${String(g.field)} (${list(g.categories)})`).join(' x ')}` : ' over all rows';
    const dp = q.dp as { mechanism?: unknown; epsilon?: unknown; delta?: unknown } | undefined;
    const noise = dp ? `, DP ${String(dp.mechanism ?? 'laplace')} epsilon ${String(dp.epsilon)}${dp.delta !== undefined ? ` delta ${String(dp.delta)}` : ''}` : ', no DP noise';
    const cells = q.minCellSize !== undefined ? `, cells under ${String(q.minCellSize)} suppressed` : '';
    return `${name}: statistics query; features ${read.length ? read.join(', ') : 'none (counts only)'}; label none (a statistics query trains no model); `
      + `query ${list(q.statistics)}${quantiles}${by}${cells}${noise}, ${encrypted}; ${sites}`;
  }
  const classes = Array.isArray(s.classes) && s.classes.length ? ` (classes ${list(s.classes)})` : '';
  const model = s.model as { hidden?: unknown; activation?: unknown } | undefined;
  const layers = Array.isArray(model?.hidden) && model.hidden.length ? `hidden [${model.hidden.map(String).join(', ')}] ${String(model.activation ?? '')}`.trim() : 'logistic regression';
  const dp = s.dp ? ', DP-SGD' : '';
  return `${name}: training; features ${list(s.features)}; label ${String(s.label || 'none')}${classes}; model ${layers}, ${String(s.rounds ?? '?')} rounds${dp}, ${encrypted}; ${sites}`;
}
