import type { Queryable } from '../storage/db.js';
import type { FederationEngine } from './engine.js';
import { attestationBySite, attestationState, type SiteAttestation } from './contribution-attestation.js';
import { modelDigestsOf } from './model-digests.js';
import { participantsOf } from './participants.js';
import type { MetricRow } from './rows.js';
import { waitingOf, waitingView } from './waiting.js';

export interface RoundFigure {
  round: number;
  loss: number;
  accuracy: number;
  numSamples: number;
  /** `evaluator`: a held-out test set; `sites`: the sample-weighted mean of the sites' local evaluations. */
  source: 'evaluator' | 'sites';
}

/**
 * Per-round figures from what the sites report: the coordinator never needs the plaintext model to
 * know how a round went. Round r's figure measures the model that round r produced.
 */
export function roundFigures(metrics: MetricRow[], evaluators: readonly string[]): RoundFigure[] {
  const byModel = new Map<number, MetricRow[]>();
  for (const m of metrics) {
    if (m.phase !== 'eval' || m.model_round < 1) continue;
    const list = byModel.get(m.model_round) ?? [];
    list.push(m);
    byModel.set(m.model_round, list);
  }
  const out: RoundFigure[] = [];
  for (const [round, list] of [...byModel.entries()].sort((a, b) => a[0] - b[0])) {
    const fromEvaluators = list.filter((m) => evaluators.includes(m.site_id));
    const used = fromEvaluators.length > 0 ? fromEvaluators : list;
    const n = used.reduce((s, m) => s + m.num_samples, 0);
    if (n === 0) continue;
    out.push({
      round,
      loss: used.reduce((s, m) => s + m.loss * m.num_samples, 0) / n,
      accuracy: used.reduce((s, m) => s + m.accuracy * m.num_samples, 0) / n,
      numSamples: n,
      source: fromEvaluators.length > 0 ? 'evaluator' : 'sites',
    });
  }
  return out;
}

/** The run's attestation: over every contributing site's training contributions. */
function runAttestation(sites: readonly SiteAttestation[]) {
  const contributed = sites.reduce((n, s) => n + s.contributed, 0);
  const attested = sites.reduce((n, s) => n + s.attested, 0);
  return { state: attestationState(contributed, attested), contributed, attested };
}

/** Everything an operator needs about one job, including exactly what its current round waits for. */
export async function describeJob(engine: FederationEngine, db: Queryable, jobId: string) {
  const job = await engine.job(jobId);
  const rounds = await engine.rounds(jobId);
  const { rows: metrics } = await db.query<MetricRow>('SELECT * FROM metrics WHERE job_id = $1 ORDER BY round, site_id', [jobId]);
  const { rows: contributions } = await db.query(
    'SELECT round, site_id, num_samples, sha256, byte_size, received_at, base_round FROM contributions WHERE job_id = $1 ORDER BY round, site_id', [jobId]) as {
    rows: { round: number; site_id: string; num_samples: number; sha256: string; byte_size: number; received_at: Date; base_round: number | null }[] };
  const { rows: tasks } = await db.query('SELECT round, site_id, state, detail, updated_at FROM site_tasks WHERE job_id = $1', [jobId]) as {
    rows: { round: number; site_id: string; state: string; detail: string | null; updated_at: Date }[] };
  const { rows: models } = await db.query('SELECT id, round, kind, sha256, byte_size, param_count, encrypted, created_at FROM models WHERE job_id = $1 ORDER BY round, created_at', [jobId]) as {
    rows: { id: string; round: number; kind: string; sha256: string; byte_size: number; param_count: number; encrypted: boolean; created_at: Date }[] };
  const digests = await modelDigestsOf(db, jobId);
  const sites = await engine.listSites();
  const participants = participantsOf(job.spec);
  const waiting = waitingView(await waitingOf(db, job));
  const trainRounds = rounds.filter((r) => r.kind === 'train').map((r) => r.round);
  const attestation = await attestationBySite(db, jobId, participants, contributions.map((c) => ({ round: c.round, site: c.site_id })), trainRounds);
  return {
    id: job.id,
    name: job.name,
    owner: job.owner,
    status: job.status,
    failure: job.failure,
    encrypted: job.encrypted,
    createdAt: job.created_at,
    currentRound: job.current_round,
    totalRounds: job.total_rounds,
    roundsDone: rounds.filter((r) => r.kind === 'train' && r.status === 'closed').length,
    spec: job.spec,
    standardization: job.standardization,
    /** What the run waits for, one entry per site (waiting.ts), and the same as one line. */
    waiting: waiting.waiting,
    waitingSummary: waiting.waitingSummary,
    /** Whether the training contributions were attested: every contributing site's, summed. */
    attestation: runAttestation(attestation),
    /**
     * `paramsSha256`: SHA-256 of the float32 LE bytes of the global model round r produced (round 0:
     * the initial model), the reference every site's eval report of it is held to: the stored model's
     * digest on a plaintext job, the first site's report on an encrypted one (null until a site
     * reported it). A plaintext run and an encrypted run of one spec compare round by round here.
     * `late` (semi-asynchronous jobs): the contributions trained for an earlier round that counted in
     * this one, with their staleness (rounds between the two), by site id.
     */
    rounds: rounds.map((r) => ({
      round: r.round, kind: r.kind, status: r.status, deadline: r.deadline_at, openedAt: r.opened_at, closedAt: r.closed_at,
      failure: r.failure, outputModelId: r.output_model_id, paramsSha256: digests.get(r.round) ?? null,
      contributions: contributions.filter((c) => c.round === r.round).map((c) => ({
        site: c.site_id, numSamples: c.num_samples, sha256: c.sha256, byteSize: c.byte_size, receivedAt: c.received_at })),
      late: contributions.filter((c) => c.round === r.round && c.base_round !== null)
        .map((c) => ({ site: c.site_id, baseRound: c.base_round!, staleness: r.round - c.base_round! })),
    })),
    sites: participants.map((s) => {
      const site = sites.find((x) => x.id === s);
      const last = metrics.filter((m) => m.site_id === s && m.phase === 'eval').at(-1);
      const samples = contributions.filter((c) => c.site_id === s).at(-1)?.num_samples ?? null;
      const failures = tasks.filter((t) => t.site_id === s && t.state === 'failed');
      return {
        id: s,
        role: job.spec.sites.includes(s) ? 'trainer' : 'evaluator',
        lastSeenAt: site?.last_seen_at ?? null,
        status: site?.last_status ?? null,
        agentVersion: site?.agent_version ?? null,
        samples,
        latest: last ? { round: last.model_round, loss: last.loss, accuracy: last.accuracy } : null,
        failures: failures.map((f) => ({ round: f.round, detail: f.detail, at: f.updated_at })),
        attestation: attestation.find((a) => a.site === s)!,
      };
    }),
    figures: roundFigures(metrics, job.spec.evaluators ?? []),
    metrics: metrics.map((m) => ({ round: m.round, site: m.site_id, phase: m.phase, modelRound: m.model_round,
      loss: m.loss, accuracy: m.accuracy, numSamples: m.num_samples, paramsSha256: m.params_sha256 })),
    models: models.map((m) => ({ id: m.id, round: m.round, kind: m.kind, sha256: m.sha256, byteSize: m.byte_size,
      paramCount: m.param_count, encrypted: m.encrypted, createdAt: m.created_at })),
  };
}
