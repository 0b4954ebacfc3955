import { PRODUCT_VERSION } from '@medfed/proto';
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Task } from '@medfed/proto';
import type { Logger } from 'pino';
import type { AgentConfig } from './config/schema.js';
import { checkDevelopmentOptions } from './config/development-options.js';
import { loadDataset, type LocalDataset } from './data/index.js';
import { initTrainingBackend } from './training/index.js';
import { CoordinatorClient, CoordinatorError } from './transport/client.js';
import { AgentStopError, backoffDelay, codeOf, dispositionOf, retryDelayWithin, stopErrorFor, type BackoffOptions } from './transport/retry-policy.js';
import { OutageLog } from './transport/outage-log.js';
import { replicaAfterNotLeader } from './transport/leader.js';
import { pruneRoundJournals } from './tasks/round-journal.js';
import { sendPendingTrainReports } from './tasks/round-reports.js';
import { TrainedUpdates } from './tasks/trained-updates.js';
import { channelCredentials } from './identity/channel.js';
import { loadAgentIdentity, type AgentIdentity, type AgentKey } from './identity/identity-files.js';
import { AuthError } from '@medfed/proto/auth/index';
import { maskingFilesOf } from './statistics/site-inputs.js';
import { parseTaskSpec } from './tasks/task-context.js';
import { TASK_KINDS, taskKindHandler, taskKindName, type TaskHost } from './tasks/task-kinds.js';
import { consortiumOf } from './governance/consortium.js';
import { signReleaseStatement } from '@medfed/proto/release/index';
import { fetchAttestedJobKey } from './tasks/key-release.js';
import { ensureSiteKeys, pinsOf, type SiteKeys } from './custody/site-keys.js';
import { loadPinnedSites, pinnedSitesPath } from './custody/pinned-sites.js';
import { SiteListApprovals } from './custody/site-list-approvals.js';
import { JobKeyStore } from './custody/job-key-store.js';
import { createTrainerSandbox, type TrainerSandbox } from './sandbox/index.js';
import { createSoftwareAttester, loadOrCreateAttestationKey, publicAttestationJwk, type AttestationPrivateJwk, type Attester } from '@medfed/proto/attestation/index';
import type { PinnedSite } from '@medfed/proto';
import { createModelVerifier, type ModelVerifier } from './verification/index.js';
import { ApprovalStore, requireJobApproval } from './approvals/index.js';
import { optOutPath, optOutVersion, readOptOut } from './data/index.js';
import { startQueryApi, type RunningQueryApi } from './query-api/index.js';

/** This agent's medfed release (announced on every call beside the protocol version). */
export const AGENT_VERSION = PRODUCT_VERSION;

/**
 * Round journals (tasks/round-journal.ts) older than this are removed when the agent starts: task
 * deadlines are minutes to hours, so a round untouched for a month is never handed out again.
 */
const ROUND_JOURNAL_RETENTION_MS = 30 * 24 * 3600_000;

export interface NodeAgentOptions {
  /** Backoff between retries (tests shorten it); default base 250 ms, cap 15 s, full jitter. */
  readonly retry?: BackoffOptions;
}

/** A task that failed transiently: it is re-polled (fresh nonce, and whether it still exists) until its deadline. */
interface TaskRetry {
  readonly job: string;
  readonly round: number;
  /** The kind's name (tasks/task-kinds.ts). */
  readonly kind: string;
  readonly attempts: number;
  /** The task's deadline on this host's clock (0: none). */
  readonly deadlineMs: number;
}

/**
 * The hospital-side loop: enroll, then poll for tasks and run each one. Patient rows never leave
 * this process; what leaves is an update vector, feature sums and metrics.
 */
export class NodeAgent {
  private readonly config: AgentConfig;
  private readonly log: Logger;
  private client: CoordinatorClient | null = null;
  /** Set when an outage ends: the journaled train metrics are sent again before the next task. */
  private reconcileReports = false;
  /** Clients of replicas the agent moved away from, closed between tasks. */
  private retired: CoordinatorClient[] = [];
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
  private siteListApprovals: SiteListApprovals | null = null;
  /** The opt-out list version the dataset was loaded with; a changed list reloads it before the next task. */
  private optOutLoaded = '';
  private queryApi: RunningQueryApi | null = null;
  /** Approvals and refusals already reported to the coordinator (job, digest, outcome): each is reported once. */
  private readonly reportedApprovals = new Set<string>();
  private readonly loggedRefusals = new Set<string>();
  private readonly retry: BackoffOptions;
  private readonly outage: OutageLog;
  /** Tasks waiting to be retried, by job, round and kind. */
  private readonly retries = new Map<string, TaskRetry>();
  /** The clipped deltas of recent trainings, for a semi-asynchronous job's late update (memory only). */
  private readonly trainedUpdates = new TrainedUpdates();
  /** Ends every backoff wait when the agent stops. */
  private readonly stopped = new AbortController();
  private enrolled: { identity: AgentIdentity; key: AgentKey } | null = null;
  /** The coordinator replica the client talks to now (coordinator.grpc until a NOT_LEADER moves it). */
  private address = '';
  /** The coordinator's clock minus this host's, from the last poll: task deadlines are on its clock. */
  private clockOffsetMs = 0;

  constructor(config: AgentConfig, log: Logger, options: NodeAgentOptions = {}) {
    this.config = config;
    this.log = log;
    this.retry = options.retry ?? {};
    this.outage = new OutageLog(log);
  }

  /** Loads and validates local data and the training backend; fails before contacting anyone if either is wrong. */
  async prepare(): Promise<{ dataset: LocalDataset; backend: string }> {
    checkDevelopmentOptions(this.config);
    await mkdir(resolve(this.config.stateDir), { recursive: true, mode: 0o700 });
    this.siteKeys = await ensureSiteKeys(resolve(this.config.stateDir));
    this.keyStore = new JobKeyStore(resolve(this.config.stateDir), this.config.siteId, this.siteKeys);
    this.approvals = new ApprovalStore(resolve(this.config.stateDir));
    this.siteListApprovals = new SiteListApprovals(resolve(this.config.stateDir));
    if (this.config.approvals.autoApproveInDevelopment) this.log.warn('development site stewards approve automatically: every job is approved on first sight (approvals.autoApproveInDevelopment)');
    if (this.config.development.trainingSlowdown !== 1) {
      this.log.warn({ factor: this.config.development.trainingSlowdown }, 'development simulation: every local training is followed by a wait, as on a slower site (development.trainingSlowdown)');
    }
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
      coordinatorCa: this.config.coordinator.tls?.ca,
      submitCosignature: async (cosigned) => { await this.client?.submitCosignature(this.config.siteId, cosigned); },
      onWarning: (message, err) => this.log.warn({ err }, message),
      log: this.log,
    });
    const pruned = await pruneRoundJournals(resolve(this.config.stateDir), ROUND_JOURNAL_RETENTION_MS);
    if (pruned > 0) this.log.info({ rounds: pruned }, 'removed round journals older than 30 days');
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
      ...(this.config.data.maxDroppedShare !== undefined ? { maxDroppedShare: this.config.data.maxDroppedShare } : {}),
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
      await this.pause(2000); // do not spin on a refused task
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

  /**
   * Enrolls, then polls for tasks and runs them until stopped. A daemon: transient failures are
   * retried with backoff for as long as it runs; it returns (rejects) only with an AgentStopError,
   * for what a person must fix (retry-policy.ts, FATAL_CODES), after logging it once.
   */
  async run(): Promise<void> {
    try {
      await this.serve();
    } catch (err) {
      if (this.stopping && !(err instanceof AgentStopError)) return;
      const stop = err instanceof AgentStopError ? err : dispositionOf(err) === 'fatal' ? stopErrorFor(err) : null;
      if (stop) this.log.fatal({ code: stop.code }, `${stop.code}: ${stop.message}`); // the message says the agent stopped, and what to do
      await this.stop();
      throw stop ?? err;
    }
  }

  private async serve(): Promise<void> {
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
    this.enrolled = enrolled;
    // Every replica must be reachable as configured (TLS beyond this host) before the agent starts.
    for (const replica of this.config.coordinator.replicas ?? []) channelCredentials(replica, this.config.coordinator.tls);
    this.connect(this.config.coordinator.grpc);
    await this.untilAnswered('enroll', () => this.client!.enroll(this.config.siteId, AGENT_VERSION, this.schemaDigest(), this.siteKeys!.keyAgreement.publicJwk, this.attestationJwk ?? undefined));
    if (this.stopping) return;
    this.log.info({ site: this.config.siteId, coordinator: this.address }, 'enrolled');
    this.heartbeatTimer = setInterval(() => void this.sendHeartbeat(), this.config.heartbeatSeconds * 1000);
    this.heartbeatTimer.unref();
    await this.sendHeartbeat();
    await this.untilAnswered('unsent train metrics', () => sendPendingTrainReports(resolve(this.config.stateDir), this.client!, this.config.siteId, this.log))
      .catch((err: unknown) => {
        if (err instanceof AgentStopError) throw err;
        // A local failure (the journal unreadable or unwritable): polling matters more than these metrics.
        this.log.warn({ code: codeOf(err) }, `could not send the train metrics a crash left unsent: ${(err as Error).message}`);
      });
    while (!this.stopping) {
      this.closeRetired();
      const task = await this.untilAnswered('poll', async () => {
        const res = await this.client!.pollTask(this.config.siteId, this.config.pollWaitMs);
        if (res.serverTimeMs > 0) this.clockOffsetMs = res.serverTimeMs - Date.now();
        return res.task;
      }, { retryAll: true });
      if (this.stopping) break;
      if (this.reconcileReports) await this.resendTrainReports();
      await this.forgetExpiredRetries();
      if (task) await this.runTask(task);
    }
  }

  /**
   * After an outage: the train metrics of journaled rounds again, acknowledged or not (a coordinator
   * restored from a backup may have lost them). Best effort: a failure is logged, polling goes on.
   */
  private async resendTrainReports(): Promise<void> {
    this.reconcileReports = false;
    await sendPendingTrainReports(resolve(this.config.stateDir), this.client!, this.config.siteId, this.log, { includeAcknowledged: true })
      .catch((err: unknown) => {
        if (err instanceof AgentStopError) throw err;
        this.log.warn({ code: codeOf(err) }, `train metrics not re-sent after the outage: ${(err as Error).message}`);
      });
  }

  /**
   * Calls `fn` until it answers: transient failures (and with `retryAll`, any that is not fatal:
   * polling is how the agent learns the coordinator works again) are retried with capped backoff,
   * forever; fatal ones stop the agent.
   */
  private async untilAnswered<T>(what: string, fn: () => Promise<T>, options: { retryAll?: boolean } = {}): Promise<T | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        const answer = await fn();
        if (this.outage.recovered('connection')) this.reconcileReports = true;
        return answer;
      } catch (err) {
        if (this.stopping) return undefined;
        const disposition = dispositionOf(err);
        if (disposition === 'fatal') throw stopErrorFor(err);
        if (disposition === 'final' && !options.retryAll) throw err;
        this.outage.failed('connection', err, { what, coordinator: this.address });
        this.followLeader(err);
        await this.pause(backoffDelay(attempt, this.retry));
      }
    }
  }

  /** A client for `address` with the enrolled identity (a NOT_LEADER may move the agent to another replica). */
  private connect(address: string): void {
    // A task may still hold the old client; it is closed once the task is over.
    if (this.client) this.retired.push(this.client);
    this.address = address;
    this.client = new CoordinatorClient(address, channelCredentials(address, this.config.coordinator.tls), this.enrolled!, {
      protocol: { onCoordinatorAhead: ({ message, ...versions }) => this.log.warn(versions, message) },
    });
    this.client.verifier = this.verifier;
  }

  /**
   * With coordinator.replicas configured: NOT_LEADER moves the agent to the hinted leader or the next
   * replica; a replica that does not answer at all (its host is down) moves it to the next one.
   */
  private followLeader(err: unknown): void {
    const code = codeOf(err);
    const unreachable = code === 'COORDINATOR_UNAVAILABLE' || code === 'COORDINATOR_CONNECTION_LOST' || code === 'COORDINATOR_TIMEOUT';
    if (code !== 'NOT_LEADER' && !unreachable) return;
    const hint = code === 'NOT_LEADER' ? (err as { leader?: string }).leader : undefined;
    const next = replicaAfterNotLeader(this.config.coordinator.replicas ?? [], this.address, hint);
    if (!next) return;
    this.log.info({ from: this.address, to: next, hinted: hint === next }, `switching to coordinator replica ${next} (${code})`);
    this.connect(next);
  }

  private closeRetired(): void {
    for (const client of this.retired.splice(0)) client.close();
  }

  /** Waits `ms`, or less when the agent stops. */
  private async pause(ms: number): Promise<void> {
    if (this.stopping) return;
    await sleep(ms, undefined, { signal: this.stopped.signal }).catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.stopped.abort();
    clearInterval(this.heartbeatTimer);
    this.closeRetired();
    this.client?.close();
    await this.queryApi?.close();
    this.queryApi = null;
  }

  /** `custody.pinnedSites`, else `<stateDir>/pinned-sites.json` (absent: nothing pinned yet); this site pinned from its own keys. */
  private async pinnedSites(): Promise<Map<string, PinnedSite>> {
    const configured = this.config.custody.pinnedSites;
    return loadPinnedSites(pinnedSitesPath(resolve(this.config.stateDir), configured), {
      self: pinsOf(this.config.siteId, this.siteKeys!), optional: configured === undefined,
    });
  }

  private async runTask(task: Task): Promise<void> {
    if (!(await this.jobApproved(task))) return;
    const kind = taskKindName(task);
    try {
      await this.dispatch(task, kind);
      this.retries.delete(retryKey(task, kind));
      if (this.outage.recovered('task', { job: task.jobId, round: task.round, task: kind })) this.reconcileReports = true;
    } catch (err) {
      if (this.stopping) return;
      const disposition = dispositionOf(err);
      if (disposition === 'fatal') throw stopErrorFor(err);
      if (disposition === 'transient') return this.retryLater(task, kind, err);
      this.retries.delete(retryKey(task, kind));
      // The coordinator answered (with a refusal), so it is reachable; a local failure says nothing either way.
      if (err instanceof CoordinatorError && this.outage.recovered('task', { job: task.jobId, round: task.round, task: kind })) this.reconcileReports = true;
      else this.outage.abandoned('task');
      await this.failed(task, err);
    }
  }

  /**
   * Runs the task by its kind's handler (tasks/task-kinds.ts); a kind without one is refused with
   * TASK_KIND_UNKNOWN and reported as failed. The heartbeat reports the handler's state meanwhile.
   */
  private async dispatch(task: Task, kind: string): Promise<void> {
    const handler = taskKindHandler(task);
    if (handler.state) {
      this.state = { state: handler.state, jobId: task.jobId, round: task.round, detail: '' };
      void this.sendHeartbeat();
    }
    await handler.run(task, this.taskHost(kind));
    if (handler.state) {
      this.state = { state: 'idle', jobId: task.jobId, round: task.round, detail: '' };
      void this.sendHeartbeat();
    }
  }

  /** What a task handler gets from the agent: contexts over its configuration, keys and current client. */
  private taskHost(kind: string): TaskHost {
    const siteId = this.config.siteId;
    const stateDir = resolve(this.config.stateDir);
    const agent = this;
    // The coordinator releases a wrapped job key only against this node's attestation for the job.
    const fetchWrappedKey = (jobId: string, epoch?: number) =>
      fetchAttestedJobKey({ client: this.client!, siteId, attester: this.attester!, sandbox: this.sandbox! }, jobId, epoch ?? 0);
    return {
      taskContext: (task) => ({
        // The current client: a NOT_LEADER retried in place may have moved the agent to another replica.
        get client() { return agent.client!; },
        siteId, dataset: this.dataset!, log: this.log, task, ...parseTaskSpec(task),
        stateDir, keyStore: this.keyStore!, sandbox: this.sandbox!, attester: this.attester!, privacy: this.config.privacy,
        fetchWrappedKey,
        retryInPlace: (what, fn) => this.retryInPlace(task, kind, what, fn),
        trainedUpdates: this.trainedUpdates,
        trainingSlowdown: { factor: this.config.development.trainingSlowdown, signal: this.stopped.signal },
      }),
      statsInputs: async () => ({
        csvPath: this.config.data.csv, ...maskingFilesOf(this.config.data, this.config.queryApi),
        optOut: await readOptOut(optOutPath(stateDir, this.config.data.optOutFile), this.config.data.patientIdColumn),
      }),
      keyTaskDeps: async (task) => {
        const client = this.client!;
        return {
          siteId, keys: this.siteKeys!, pinned: await this.pinnedSites(), approvals: this.siteListApprovals!,
          autoApprove: this.config.custody.autoApproveSiteLists, log: this.log,
          submitSignature: async (jws) => { await client.submitSiteListSignature(siteId, task.jobId, jws); },
          submitKeyMaterial: async (pp, wrapped, history) => { await client.submitKeyMaterial(siteId, task.jobId, pp, wrapped, history); },
          earlierKey: (epoch, keyId, paramSet) => this.keyStore!.exportKey(task.jobId, epoch, paramSet, keyId,
            () => fetchAttestedJobKey({ client, siteId, attester: this.attester!, sandbox: this.sandbox! }, task.jobId, epoch)),
        };
      },
      releaseContext: async (task) => {
        const client = this.client!;
        const key = this.attestationKey!;
        // The approvals are verified with this site's pins, read afresh (a roster imported since start counts).
        const approvalTrust = { consortium: await consortiumOf(this.config), stewardKeys: await this.pinnedSites() };
        return {
          client, siteId, task, spec: parseTaskSpec(task).spec, log: this.log, stateDir, keyStore: this.keyStore!,
          fetchWrappedKey: (jobId, epoch) => fetchAttestedJobKey({ client, siteId, attester: this.attester!, sandbox: this.sandbox! }, jobId, epoch ?? 0),
          signStatement: (claims) => signReleaseStatement(claims, key),
          approvalTrust,
        };
      },
    };
  }

  /**
   * A transient failure inside a task: wait (capped backoff with full jitter), then go back to
   * polling, which hands the task out again with the latest attestation nonce (or not at all, when
   * it is gone); the round journal makes the re-run cheap. Once the next attempt could not start
   * before the task's deadline, the task is dropped.
   */
  private async retryLater(task: Task, kind: string, err: unknown): Promise<void> {
    const key = retryKey(task, kind);
    // The latest poll's deadline counts (the coordinator may have moved it).
    const deadlineMs = task.deadlineMs > 0 ? task.deadlineMs - this.clockOffsetMs : 0;
    const retry: TaskRetry = { job: task.jobId, round: task.round, kind, attempts: (this.retries.get(key)?.attempts ?? 0) + 1, deadlineMs };
    this.retries.set(key, retry);
    const fields = { job: task.jobId, round: task.round, task: kind };
    this.outage.failed('task', err, fields);
    this.followLeader(err);
    const delay = retryDelayWithin(retry.attempts, deadlineMs, Date.now(), this.retry);
    if (delay === null) {
      this.retries.delete(key);
      this.outage.abandoned('task');
      const code = codeOf(err) ?? 'UNEXPECTED';
      this.log.warn({ ...fields, code, attempts: retry.attempts }, 'task dropped: its deadline passes before it could be retried; polling for the next task');
      await this.reportGaveUp(retry, code);
      return;
    }
    this.state = { state: 'retrying', jobId: task.jobId, round: task.round, detail: `${codeOf(err)}: retrying with backoff until the task deadline` };
    void this.sendHeartbeat();
    await this.pause(delay);
  }

  private async reportGaveUp(r: TaskRetry, code = 'DEADLINE'): Promise<void> {
    this.state = { state: 'idle', jobId: '', round: 0, detail: '' };
    await this.sendHeartbeat({ state: 'failed', jobId: r.job, round: r.round, detail: `${code}: gave up at the task deadline after ${r.attempts} attempts` });
  }

  /** A step retried where it is (the task would not be handed out again), until the task's deadline. */
  private async retryInPlace<T>(task: Task, kind: string, what: string, fn: () => Promise<T>): Promise<T> {
    const fields = { job: task.jobId, round: task.round, task: kind, what };
    const deadlineMs = task.deadlineMs > 0 ? task.deadlineMs - this.clockOffsetMs : 0;
    for (let attempt = 1; ; attempt++) {
      try {
        const answer = await fn();
        if (this.outage.recovered('task', fields)) this.reconcileReports = true;
        return answer;
      } catch (err) {
        if (this.stopping || dispositionOf(err) !== 'transient') throw err;
        this.outage.failed('task', err, fields);
        this.followLeader(err);
        const delay = retryDelayWithin(attempt, deadlineMs, Date.now(), this.retry);
        if (delay === null) throw err;
        await this.pause(delay);
      }
    }
  }

  /**
   * Drops the retry state of tasks whose deadline passed while the agent waited to be handed them
   * again (the coordinator no longer does); with none left, a task outage is over.
   */
  private async forgetExpiredRetries(): Promise<void> {
    const now = Date.now();
    for (const [key, r] of this.retries) {
      if (r.deadlineMs <= 0 || r.deadlineMs >= now) continue;
      this.retries.delete(key);
      this.log.warn({ job: r.job, round: r.round, task: r.kind, attempts: r.attempts }, 'task dropped: its deadline passed before it was handed out again; polling for the next task');
      await this.reportGaveUp(r);
    }
    if (this.retries.size > 0) return;
    this.outage.abandoned('task');
    if (this.state.state === 'retrying') this.state = { state: 'idle', jobId: '', round: 0, detail: '' };
  }

  /** A task that failed for good: logged, reported through the heartbeat, and the agent goes on. */
  private async failed(task: Task, err: unknown): Promise<void> {
    const code = codeOf(err) ?? 'TASK_FAILED';
    const message = (err as Error)?.message ?? String(err);
    const detail = `${code}: ${message}`;
    // A key ceremony or release step is not a round failure: it stays pending and is handed out again
    // (or on at its deadline); the heartbeat tells the coordinator why this site did not do it
    // (e.g. APPROVAL_QUORUM_NOT_MET).
    const pendingStep = TASK_KINDS.get(task.kind)?.pendingStep;
    this.log.error({ job: task.jobId, round: task.round, code }, pendingStep ? `${pendingStep}: ${message}` : `task refused or failed: ${detail}`);
    // The failure is reported once, by this heartbeat; the periodic one already says idle (it must not repeat the failure).
    this.state = { state: 'idle', jobId: '', round: 0, detail: '' };
    await this.sendHeartbeat({ state: 'failed', jobId: task.jobId, round: task.round, detail });
    if (pendingStep) await this.pause(2000); // do not spin on a step that stays pending
    else void this.sendHeartbeat();
  }

  /** Reports `state` (default: the agent's current state); a failure is passed here once, never left in `this.state`. */
  private async sendHeartbeat(state: typeof this.state = this.state): Promise<void> {
    if (!this.client) return;
    await this.client.heartbeat({
      siteId: this.config.siteId, ...state, logPath: this.config.logFile ?? '',
    }).catch((err: unknown) => this.log.debug({ err }, 'heartbeat failed'));
  }
}

function retryKey(task: Task, kind: string): string {
  return `${task.jobId}\u0000${task.round}\u0000${kind}`;
}
