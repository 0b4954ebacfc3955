import { MedfedError } from '@medfed/proto';
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TaskKind, type Task } from '@medfed/proto';
import type { Logger } from 'pino';
import type { AgentConfig } from './config/schema.js';
import { loadDataset, type LocalDataset } from './data/index.js';
import { initTrainingBackend } from './training/index.js';
import { CoordinatorClient, CoordinatorError } from './transport/client.js';
import { channelCredentials } from './identity/channel.js';
import { loadAgentIdentity } from './identity/identity-files.js';
import { AuthError } from '@medfed/proto/auth/index';
import { runEvaluateTask, runTrainTask } from './tasks/model-task.js';
import { runStatsTask } from './tasks/stats-task.js';
import { runStatsPublishTask, runStatsQueryTask, type StatsQueryContext } from './tasks/stats-query-task.js';
import { maskingFilesOf } from './statistics/site-inputs.js';
import { parseTaskSpec, type TaskContext } from './tasks/task-context.js';
import { runKeyTask, type KeyTask } from './tasks/key-task.js';
import { runReleaseTask } from './tasks/release-task.js';
import { signReleaseStatement } from '@medfed/proto/release/index';
import { fetchAttestedJobKey } from './tasks/key-release.js';
import { ensureSiteKeys, type SiteKeys } from './custody/site-keys.js';
import { loadPinnedSites } from './custody/pinned-sites.js';
import { JobKeyStore } from './custody/job-key-store.js';
import { createTrainerSandbox, type TrainerSandbox } from './sandbox/index.js';
import { createSoftwareAttester, loadOrCreateAttestationKey, publicAttestationJwk, type AttestationPrivateJwk, type Attester } from '@medfed/proto/attestation/index';
import type { PinnedSite } from '@medfed/proto';
import { createModelVerifier, type ModelVerifier } from './verification/index.js';
import { ApprovalError, ApprovalStore, requireJobApproval } from './approvals/index.js';
import { optOutPath, optOutVersion, readOptOut } from './data/index.js';
import { startQueryApi, type RunningQueryApi } from './query-api/index.js';

export const AGENT_VERSION = '0.1.0';

/** Errors worth retrying: the coordinator is briefly unreachable or restarting, or a token ran out mid-call. */
const TRANSIENT = new Set(['COORDINATOR_UNAVAILABLE', 'GRPC_ERROR', 'AUTH_TOKEN_EXPIRED', 'AUTH_STREAM_EXPIRED']);

/**
 * The hospital-side loop: enroll, then poll for tasks and run each one. Patient rows never leave
 * this process; what leaves is an update vector, feature sums and metrics.
 */
export class NodeAgent {
  private readonly config: AgentConfig;
  private readonly log: Logger;
  private client: CoordinatorClient | null = null;
  private stopping = false;
  private state: { state: string; jobId: string; round: number; detail: string } = { state: 'idle', jobId: '', round: 0, detail: '' };
  private heartbeatTimer: NodeJS.Timeout | undefined;
  dataset: LocalDataset | null = null;
  private siteKeys: SiteKeys | null = null;
  private keyStore: JobKeyStore | null = null;
  private sandbox: TrainerSandbox | null = null;
  private attester: Attester | null = null;
  private attestationJwk: object | null = null;
  /** Signs release statements (the same node key as attestations, under its own JWS typ). */
  private attestationKey: AttestationPrivateJwk | null = null;
  private verifier: ModelVerifier | null = null;
  private approvals: ApprovalStore | null = null;
  /** The opt-out list version the dataset was loaded with; a changed list reloads it before the next task. */
  private optOutLoaded = '';
  private queryApi: RunningQueryApi | null = null;
  /** Approvals and refusals already reported to the coordinator (job, digest, outcome): each is reported once. */
  private readonly reportedApprovals = new Set<string>();
  private readonly loggedRefusals = new Set<string>();

  constructor(config: AgentConfig, log: Logger) {
    this.config = config;
    this.log = log;
  }

  /** Loads and validates local data and the training backend; fails before contacting anyone if either is wrong. */
  async prepare(): Promise<{ dataset: LocalDataset; backend: string }> {
    await mkdir(resolve(this.config.stateDir), { recursive: true, mode: 0o700 });
    this.siteKeys = await ensureSiteKeys(resolve(this.config.stateDir));
    this.keyStore = new JobKeyStore(resolve(this.config.stateDir), this.config.siteId, this.siteKeys);
    if (this.config.env === 'production' && this.config.custody.autoApproveSiteLists) {
      throw new MedfedError('CONFIG_INVALID', 'custody.autoApproveSiteLists is a development option; a production steward approves site lists');
    }
    if (this.config.env === 'production' && this.config.approvals.autoApproveInDevelopment) {
      throw new ApprovalError('APPROVAL_AUTO_IN_PRODUCTION', 'approvals.autoApproveInDevelopment is a development option; a production steward approves each job (medfed agent approve)');
    }
    this.approvals = new ApprovalStore(resolve(this.config.stateDir));
    if (this.config.approvals.autoApproveInDevelopment) this.log.warn('development site stewards approve automatically: every job is approved on first sight (approvals.autoApproveInDevelopment)');
    // A software attester: it proves which trainer and sandbox policy ran and which key signed,
    // not that the host is uncompromised (hardware attesters plug in behind the same interface).
    const { key } = await loadOrCreateAttestationKey(resolve(this.config.stateDir, 'attestation.jwk'));
    this.attester = createSoftwareAttester(key);
    this.attestationJwk = publicAttestationJwk(key);
    this.attestationKey = key;
    this.sandbox = await createTrainerSandbox({ env: this.config.env, onWarning: (m) => this.log.warn(m) });
    this.log.info({ sandboxed: this.sandbox.sandboxed, trainerDigest: this.sandbox.trainerDigest }, this.sandbox.sandboxed
      ? 'trainer sandbox ready (bubblewrap: no network, read-only inputs, resource limits)'
      : 'trainer runs UNSANDBOXED (development); a production coordinator refuses its updates');
    // Verification before load: pinned anchors (required in production), the saved log view, the witness key.
    this.verifier = await createModelVerifier({
      env: this.config.env, siteId: this.config.siteId, stateDir: resolve(this.config.stateDir), trust: this.config.trust, gate: this.config.gate,
      submitCosignature: async (cosigned) => { await this.client?.submitCosignature(this.config.siteId, cosigned); },
      onWarning: (message, err) => this.log.warn({ err }, message),
      log: this.log,
    });
    const dataset = await this.loadSiteDataset();
    const backend = await initTrainingBackend();
    this.log.info({ backend: backend.backend, note: backend.note }, `training backend: ${backend.backend}`);
    this.dataset = dataset;
    return { dataset, backend: backend.backend };
  }

  /** The site's rows minus its opt-out list: what every task (training, evaluation, statistics) works on. */
  private async loadSiteDataset(): Promise<LocalDataset> {
    const path = optOutPath(resolve(this.config.stateDir), this.config.data.optOutFile);
    const optOut = await readOptOut(path, this.config.data.patientIdColumn);
    const dataset = await loadDataset(this.config.data.csv, {
      label: this.config.data.label,
      ...(this.config.data.schema ? { schemaPath: this.config.data.schema } : {}),
      optOut,
    });
    this.optOutLoaded = optOut.version;
    if ((dataset.optedOutExcluded ?? 0) > 0) this.log.info({ excluded: dataset.optedOutExcluded }, 'patients on the opt-out list are excluded from every use');
    return dataset;
  }

  /** Reloads the dataset when the opt-out list changed since it was loaded. */
  private async refreshOptOut(): Promise<void> {
    const version = await optOutVersion(optOutPath(resolve(this.config.stateDir), this.config.data.optOutFile));
    if (version !== this.optOutLoaded) this.dataset = await this.loadSiteDataset();
  }

  /**
   * The steward's approval gate, before any task kind is dispatched: the job must be approved for
   * the exact spec announced. A refusal is logged and reported to the coordinator (ReportJobApproval).
   */
  private async jobApproved(task: Task): Promise<boolean> {
    try {
      const { approval, granted } = await requireJobApproval(this.approvals!, {
        jobId: task.jobId, jobSpecJson: task.jobSpecJson, autoApprove: this.config.approvals.autoApproveInDevelopment,
      });
      if (granted) this.log.warn({ job: task.jobId, specDigest: approval.specDigest }, 'job approved automatically: development site stewards approve automatically');
      await this.reportApproval(task.jobId, { approved: true, specDigest: approval.specDigest, ethicsRef: approval.ethicsRef, refusalCode: '', mode: approval.mode });
      await this.refreshOptOut();
      return true;
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'JOB_NOT_APPROVED';
      const detail = `${code}: ${(err as Error).message}`;
      const announced = (err as { details?: { announcedDigest?: unknown } }).details?.announcedDigest;
      const awaiting = typeof announced === 'string' && (code === 'JOB_NOT_APPROVED' || code === 'JOB_APPROVAL_SPEC_CHANGED');
      const key = `${task.jobId}:${String(announced)}:${code}`;
      if (!this.loggedRefusals.has(key)) this.log.error({ job: task.jobId, round: task.round, code }, `task refused: ${detail}`);
      this.loggedRefusals.add(key);
      if (awaiting) await this.reportApproval(task.jobId, { approved: false, specDigest: announced, ethicsRef: '', refusalCode: code, mode: '' });
      // Awaiting the steward, the task stays pending until its deadline (an approval in time still
      // takes part); any other refusal fails the task like a failed run.
      this.state = { state: awaiting ? 'awaiting-approval' : 'failed', jobId: task.jobId, round: task.round, detail };
      await this.sendHeartbeat();
      this.state = { state: 'idle', jobId: '', round: 0, detail: '' };
      if (!this.stopping) await sleep(2000); // do not spin on a refused task
      return false;
    }
  }

  /** Tells the coordinator's audit trail once per (job, spec, outcome); a failed report is retried on the next task. */
  private async reportApproval(jobId: string, report: { approved: boolean; specDigest: string; ethicsRef: string; refusalCode: string; mode: string }): Promise<void> {
    const key = `${jobId}:${report.specDigest}:${report.approved ? 'approved' : report.refusalCode}`;
    if (this.reportedApprovals.has(key) || !this.client) return;
    try {
      await this.client.reportJobApproval({ siteId: this.config.siteId, jobId, ...report });
      this.reportedApprovals.add(key);
    } catch (err) {
      this.log.warn({ job: jobId, code: (err as { code?: string }).code }, 'could not report the job approval to the coordinator; retrying with the next task');
    }
  }

  schemaDigest(): string {
    const columns = (this.dataset?.columns ?? []).map((c) => ({ name: c.name, type: c.type, role: c.role }));
    return createHash('sha256').update(JSON.stringify({ label: this.dataset?.label, columns })).digest('hex');
  }

  async run(): Promise<void> {
    if (!this.dataset) await this.prepare();
    if (this.config.queryApi) {
      this.queryApi = await startQueryApi({ config: this.config, log: this.log });
      this.log.info({ url: this.queryApi.url }, 'local query API listening (hospital identity only)');
    }
    // The enrolled key and identity (medfed agent enroll): every call is made with them.
    const enrolled = await loadAgentIdentity(resolve(this.config.stateDir));
    if (enrolled.identity.siteId !== this.config.siteId) {
      throw new AuthError('AUTH_IDENTITY_INVALID', `this state directory is enrolled as site ${enrolled.identity.siteId}, not ${this.config.siteId}`);
    }
    const address = this.config.coordinator.grpc;
    this.client = new CoordinatorClient(address, channelCredentials(address, this.config.coordinator.tls), enrolled);
    this.client.verifier = this.verifier;
    await this.retrying('enroll', () => this.client!.enroll(this.config.siteId, AGENT_VERSION, this.schemaDigest(), this.siteKeys!.keyAgreement.publicJwk, this.attestationJwk ?? undefined));
    this.log.info({ site: this.config.siteId, coordinator: this.config.coordinator.grpc }, 'enrolled');
    this.heartbeatTimer = setInterval(() => void this.sendHeartbeat(), this.config.heartbeatSeconds * 1000);
    this.heartbeatTimer.unref();
    await this.sendHeartbeat();
    while (!this.stopping) {
      let task: Task | undefined;
      try {
        task = (await this.client.pollTask(this.config.siteId, this.config.pollWaitMs)).task;
      } catch (err) {
        if (this.stopping) break;
        if (err instanceof CoordinatorError && TRANSIENT.has(err.code)) {
          this.log.warn({ code: err.code }, 'coordinator unreachable; retrying');
          await sleep(1000);
          continue;
        }
        throw err;
      }
      if (task) await this.runTask(task);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.heartbeatTimer);
    this.client?.close();
    await this.queryApi?.close();
  }

  private async pinnedSites(): Promise<Map<string, PinnedSite>> {
    return this.config.custody.pinnedSites ? loadPinnedSites(this.config.custody.pinnedSites) : new Map();
  }

  private async runTask(task: Task): Promise<void> {
    if (!(await this.jobApproved(task))) return;
    if (task.kind === TaskKind.TASK_KIND_KEYS) return this.runKeyCeremonyStep(task);
    if (task.kind === TaskKind.TASK_KIND_RELEASE) return this.runReleaseStep(task);
    const kind = task.kind === TaskKind.TASK_KIND_STATS ? 'stats' : task.kind === TaskKind.TASK_KIND_TRAIN ? 'train'
      : task.kind === TaskKind.TASK_KIND_STATS_QUERY ? 'stats-query' : task.kind === TaskKind.TASK_KIND_STATS_PUBLISH ? 'stats-publish' : 'evaluate';
    this.state = { state: kind === 'train' ? 'training' : kind === 'stats' ? 'training' : 'evaluating', jobId: task.jobId, round: task.round, detail: '' };
    void this.sendHeartbeat();
    try {
      const { spec, standardization } = parseTaskSpec(task);
      const client = this.client!;
      const siteId = this.config.siteId;
      const ctx: TaskContext = {
        client, siteId, dataset: this.dataset!, log: this.log, task, spec, standardization,
        stateDir: resolve(this.config.stateDir), keyStore: this.keyStore!, sandbox: this.sandbox!, attester: this.attester!, privacy: this.config.privacy,
        // The coordinator releases the wrapped key only against this node's attestation for the job.
        fetchWrappedKey: (jobId, epoch) => fetchAttestedJobKey({ client, siteId, attester: this.attester!, sandbox: this.sandbox! }, jobId, epoch ?? 0),
      };
      if (kind === 'stats-query' || kind === 'stats-publish') {
        // Federated statistics read the site's records and masking files afresh (docs/statistics.md).
        const sctx: StatsQueryContext = { ...ctx, statsInputs: {
          csvPath: this.config.data.csv, ...maskingFilesOf(this.config.data, this.config.queryApi),
          optOut: await readOptOut(optOutPath(resolve(this.config.stateDir), this.config.data.optOutFile), this.config.data.patientIdColumn),
        } };
        await this.retrying(kind, () => (kind === 'stats-query' ? runStatsQueryTask(sctx) : runStatsPublishTask(sctx)));
      } else if (kind === 'stats') await this.retrying('stats', () => runStatsTask(ctx));
      else if (kind === 'train') await this.retrying('train', () => runTrainTask(ctx));
      else await this.retrying('evaluate', () => runEvaluateTask(ctx));
      this.state = { state: 'idle', jobId: task.jobId, round: task.round, detail: '' };
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'TASK_FAILED';
      const detail = `${code}: ${(err as Error).message}`;
      this.log.error({ job: task.jobId, round: task.round, code }, `task refused or failed: ${detail}`);
      this.state = { state: 'failed', jobId: task.jobId, round: task.round, detail };
      await this.sendHeartbeat();
      this.state = { state: 'idle', jobId: '', round: 0, detail: '' };
    }
    void this.sendHeartbeat();
  }

  /** A model release step (decrypt or reproduce and countersign); see tasks/release-task.ts. */
  private async runReleaseStep(task: Task): Promise<void> {
    const client = this.client!;
    const siteId = this.config.siteId;
    try {
      const { spec } = parseTaskSpec(task);
      const key = this.attestationKey!;
      const outcome = await this.retrying('release', () => runReleaseTask({
        client, siteId, task, spec, log: this.log, stateDir: resolve(this.config.stateDir), keyStore: this.keyStore!,
        fetchWrappedKey: (jobId, epoch) => fetchAttestedJobKey({ client, siteId, attester: this.attester!, sandbox: this.sandbox! }, jobId, epoch ?? 0),
        signStatement: (claims) => signReleaseStatement(claims, key),
      }));
      this.log.info({ job: task.jobId, round: task.round, outcome }, 'release step done');
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'TASK_FAILED';
      // Not reported as a round failure: the job's rounds are over; the release stays pending and is retried.
      this.log.error({ job: task.jobId, round: task.round, code }, `release step refused or failed: ${(err as Error).message}`);
      if (!this.stopping) await sleep(2000);
    }
  }

  private async runKeyCeremonyStep(task: Task): Promise<void> {
    const client = this.client!;
    const siteId = this.config.siteId;
    try {
      const keyTask = JSON.parse(task.keyTaskJson) as KeyTask;
      await runKeyTask(task.jobId, keyTask, {
        siteId, keys: this.siteKeys!, pinned: await this.pinnedSites(), autoApprove: this.config.custody.autoApproveSiteLists, log: this.log,
        submitSignature: async (jws) => { await client.submitSiteListSignature(siteId, task.jobId, jws); },
        submitKeyMaterial: async (pp, wrapped, history) => { await client.submitKeyMaterial(siteId, task.jobId, pp, wrapped, history); },
        earlierKey: (epoch, keyId, paramSet) => this.keyStore!.exportKey(task.jobId, epoch, paramSet, keyId,
          () => fetchAttestedJobKey({ client, siteId, attester: this.attester!, sandbox: this.sandbox! }, task.jobId, epoch)),
      });
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'TASK_FAILED';
      this.log.error({ job: task.jobId, code }, `key ceremony step refused: ${(err as Error).message}`);
      this.state = { state: 'failed', jobId: task.jobId, round: task.round, detail: `${code}: ${(err as Error).message}` };
      await this.sendHeartbeat();
      this.state = { state: 'idle', jobId: '', round: 0, detail: '' };
      await sleep(2000); // the step stays pending; do not spin on it
    }
  }

  private async retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const transient = err instanceof CoordinatorError && TRANSIENT.has(err.code);
        if (!transient || attempt >= 10 || this.stopping) throw err;
        this.log.warn({ what, attempt, code: (err as CoordinatorError).code }, 'transient failure; retrying');
        await sleep(Math.min(5000, 250 * 2 ** attempt));
      }
    }
  }

  private async sendHeartbeat(): Promise<void> {
    if (!this.client) return;
    await this.client.heartbeat({
      siteId: this.config.siteId, ...this.state, logPath: this.config.logFile ?? '',
    }).catch((err: unknown) => this.log.debug({ err }, 'heartbeat failed'));
  }
}
