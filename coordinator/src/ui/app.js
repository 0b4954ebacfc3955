// medfed dashboard: plain ES module, no libraries, no inline scripts (the page's CSP forbids them).
// The token lives in memory only: a reload asks for the key again.
import { lineChart } from './chart.js';

const $ = (id) => document.getElementById(id);
const VIEWS = ['login-view', 'runs-view', 'run-view', 'audit-view'];
/** Which roles see which navigation entries; the server enforces the same (and filters the data). */
const NAV_ROLES = { audit: ['admin', 'auditor'], export: ['auditor'] };

const session = { token: null, expiresAt: 0, lifetime: 0, who: null, idleMs: 900_000, lastActivity: Date.now() };
let stream = null;
/** The current page's refresh timer, and a count of page visits (a late answer for an earlier visit is dropped). */
let pageTimer = null;
let visits = 0;
let lastOverview = null;
let auditNext = null;
/** The run page's other sources: site versions (`GET /v1/sites`) and the run's releases (`GET /v1/releases`). */
let siteVersions = new Map();
let runReleases = [];

// ---- session -------------------------------------------------------------------------------

async function loadSettings() {
  const s = await fetch('/ui/settings.json').then((r) => r.json()).catch(() => ({ idleSeconds: 900 }));
  const requested = Number(new URLSearchParams(location.search).get('idle'));
  // The URL may shorten the idle period (a shared workstation), never lengthen it.
  const seconds = requested > 0 ? Math.min(requested, s.idleSeconds) : s.idleSeconds;
  session.idleMs = seconds * 1000;
}

function setToken(answer) {
  session.token = answer.access_token;
  session.lifetime = answer.expires_in * 1000;
  session.expiresAt = Date.now() + session.lifetime;
}

async function login(apiKey) {
  const res = await fetch('/v1/auth/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: apiKey }) });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${body.code ?? res.status}: ${body.message ?? 'login refused'}`);
  setToken(body);
  session.lastActivity = Date.now();
  session.who = await api('/v1/auth/whoami');
  void showExpiry();
}

/**
 * A banner for certificates and keys close to expiry (`GET /v1/trust/expiry`): only the entries the
 * coordinator flags with `warning`; nothing when the route does not exist (404) or is not for this role.
 */
async function showExpiry() {
  const entries = await api('/v1/trust/expiry').catch(() => []);
  const warned = Array.isArray(entries) ? entries.filter((e) => e && e.warning === true) : [];
  $('expiry-list').replaceChildren(...warned.map((e) => el('li',
    `${e.name}: expires ${fmtTime(e.notAfter)} (${e.daysLeft} day${e.daysLeft === 1 ? '' : 's'} left)`)));
  $('expiry-banner').hidden = warned.length === 0 || !session.token;
}

/** Ends the session here and at the coordinator; `why` is shown on the login page. */
async function logoff(why) {
  const token = session.token;
  session.token = null;
  session.who = null;
  stopStream();
  clearInterval(pageTimer);
  $('expiry-banner').hidden = true;
  if (token) fetch('/v1/auth/logout', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' }).catch(() => {});
  $('login-notice').textContent = why ?? '';
  location.hash = '#/login';
  render();
}

async function refreshToken() {
  const res = await fetch('/v1/auth/token', { method: 'POST', headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ refresh: true }) });
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    await logoff(`Logged off: the session ended (${body.code ?? res.status}). Log in again.`);
    return false;
  }
  setToken(await res.json());
  return true;
}

/** Automatic logoff: idle for the configured period, or a token that could not be renewed in time. */
function watchSession() {
  for (const ev of ['pointerdown', 'keydown', 'wheel', 'touchstart']) {
    addEventListener(ev, () => { session.lastActivity = Date.now(); }, { passive: true });
  }
  setInterval(async () => {
    if (!session.token) return;
    const now = Date.now();
    if (now - session.lastActivity >= session.idleMs) return logoff('Logged off after inactivity. Log in again.');
    if (now >= session.expiresAt) return logoff('Logged off: the access token expired. Log in again.');
    // Renew only for an active viewer, so an unattended screen never keeps a session alive.
    if (session.expiresAt - now < Math.max(30_000, session.lifetime / 3)) await refreshToken();
  }, 1000);
}

async function api(path, init = {}) {
  const res = await fetch(path, { ...init, headers: { accept: 'application/json', authorization: `Bearer ${session.token}`, ...(init.headers ?? {}) } });
  const body = await res.json().catch(() => ({}));
  if (res.status === 401) {
    await logoff(`Logged off: ${body.message ?? 'the session ended'}. Log in again.`);
    throw new Error(body.code ?? 'AUTH');
  }
  if (!res.ok) throw new Error(`${body.code ?? res.status}: ${body.message ?? 'request failed'}`);
  return body;
}

// ---- routing -------------------------------------------------------------------------------

function show(view) {
  for (const v of VIEWS) $(v).hidden = v !== view;
}

function render() {
  const who = session.who;
  $('nav').hidden = !who;
  $('logout').hidden = !who;
  $('who').textContent = who ? `${who.role}${who.site ? ` at ${who.site}` : ''} (${who.sub})` : '';
  $('nav-audit').hidden = !who || !NAV_ROLES.audit.includes(who.role);
  stopStream();
  clearInterval(pageTimer);
  visits++;
  if (!who) return show('login-view');
  const [, page, id] = location.hash.split('/');
  if (page === 'runs' && id) return openRun(decodeURIComponent(id));
  if (page === 'audit' && NAV_ROLES.audit.includes(who.role)) return openAudit();
  if (page !== 'runs') { location.hash = '#/runs'; return; }
  openRuns();
}

// ---- runs ----------------------------------------------------------------------------------

const fmtTime = (t) => (t ? new Date(t).toLocaleString() : '');
const el = (tag, text, cls) => {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
};
const row = (cells) => {
  const tr = document.createElement('tr');
  for (const c of cells) tr.append(c instanceof Node ? wrapCell(c) : el('td', c));
  return tr;
};
const wrapCell = (node) => { const td = document.createElement('td'); td.append(node); return td; };

function progressOf(done, total, label) {
  const p = document.createElement('progress');
  p.max = Math.max(1, total);
  p.value = Math.min(done, total);
  p.setAttribute('aria-label', label);
  const span = el('span', ` ${done}/${total}`);
  const frag = document.createElement('span');
  frag.append(p, span);
  return frag;
}

async function openRuns() {
  show('runs-view');
  const draw = async () => {
    const { jobs } = await api('/v1/jobs');
    const body = $('runs-table').querySelector('tbody');
    body.replaceChildren(...jobs.map((j) => {
      const a = el('a', j.name);
      a.href = `#/runs/${encodeURIComponent(j.id)}`;
      const done = j.status === 'completed' ? j.totalRounds : Math.max(0, Math.min(j.currentRound - 1, j.totalRounds));
      return row([a, el('span', j.status, `status status-${j.status}`), progressOf(done, j.totalRounds, `rounds of ${j.name}`), fmtTime(j.createdAt), j.owner]);
    }));
    $('runs-empty').hidden = jobs.length > 0;
  };
  await draw().catch((e) => { $('runs-empty').hidden = false; $('runs-empty').textContent = e.message; });
  pageTimer = setInterval(() => void draw().catch(() => {}), 5000);
}

/** How a finished run ended, with its final round: `finished (round 30 of 30)`, `failed (round 3 of 30)`. */
const endOf = (j) => `${j.status === 'completed' ? 'finished' : j.status} (round ${j.roundsDone} of ${j.totalRounds})`;

/** The run's state at a site: the run's end once it is over, else the site's latest task for this run. */
function taskText(s, j) {
  if (j.status !== 'running') return endOf(j);
  if (s.task.jobId && s.task.jobId !== j.id) return 'busy with another run';
  if (!s.task.state) return '';
  if (!s.task.jobId) return s.task.state;
  if (s.task.state === 'idle') return `done with round ${s.task.round}`;
  return `${s.task.state}${s.task.round !== null ? ` (round ${s.task.round})` : ''}`;
}

/** Protocol and agent version as `GET /v1/sites` reports them ("—" for what it does not). */
function versionsText(s) {
  const v = siteVersions.get(s.id) ?? {};
  return `${v.protocolVersion ?? '—'} / ${v.agentVersion ?? s.agentVersion ?? '—'}`;
}

function attestationText(a, counts, running) {
  if (a === 'no contribution') return running ? 'no contribution yet' : 'no contribution';
  if (a === 'partly attested' && counts) return `partly attested (${counts.attested} of ${counts.contributed} rounds)`;
  return a;
}

function renderRun(o) {
  lastOverview = o;
  const j = o.job;
  $('run-title').textContent = j.name;
  const st = $('run-status');
  st.textContent = j.status;
  st.className = `status status-${j.status}`;
  $('run-progress').max = Math.max(1, j.totalRounds);
  $('run-progress').value = j.roundsDone;
  $('run-progress-label').textContent = `Rounds ${j.roundsDone}/${j.totalRounds}`;
  const end = endOf(j);
  $('run-waiting').textContent = j.status !== 'running'
    ? `${end[0].toUpperCase()}${end.slice(1)}.${j.failure ? ` ${j.failure}` : ''}`
    : (j.waitingSummary || 'starting');
  $('run-attestation').textContent = `Attestation: ${j.attestation.state === 'no contribution' ? 'no contribution yet'
    : `${j.attestation.state} (${j.attestation.attested} of ${j.attestation.contributed} contributions)`}`;

  // failures: site, error, where its log is
  const fails = [...o.failures];
  if (j.failure && fails.length === 0) fails.push({ site: 'coordinator', round: j.currentRound, error: j.failure, log: 'the coordinator log (stderr, JSON lines)' });
  $('failure-panel').hidden = fails.length === 0;
  $('failure-list').replaceChildren(...fails.map((f) => {
    const li = el('li');
    li.append(el('strong', f.site), el('span', ` (round ${f.round}): ${f.error}. `), el('span', `Log: ${f.log}`, 'mono'));
    return li;
  }));

  // sites
  $('sites-table').querySelector('tbody').replaceChildren(...o.sites.map((s) => {
    const online = el('span', s.online ? `online, ${s.secondsSinceSeen} s ago` : (s.secondsSinceSeen === null ? 'never seen' : `offline, last seen ${s.secondsSinceSeen} s ago`), s.online ? 'online' : 'offline');
    return row([el('span', `${s.id}${s.role === 'evaluator' ? ' (evaluator)' : ''}`), online, taskText(s, j), s.samples ?? '',
      s.latest ? s.latest.loss.toFixed(4) : '', s.latest ? s.latest.accuracy.toFixed(3) : '',
      el('span', s.dataSchemaDigest ? s.dataSchemaDigest.slice(0, 16) : 'not reported', 'mono'), versionsText(s),
      attestationText(s.attestation, s.attestedRounds, j.status === 'running')]);
  }));

  drawCharts(o);
  renderPrivacy(o.privacy);
  renderModels(o.models);
}

function drawCharts(o) {
  const perSite = $('per-site-toggle').checked;
  const evals = o.metrics.filter((m) => m.phase === 'eval' && m.modelRound >= 1);
  const sites = [...new Set(evals.map((m) => m.site))].sort();
  const siteSeries = (site, key) => ({ name: site, points: evals.filter((m) => m.site === site).map((m) => [m.modelRound, m[key]]) });
  const aggregate = (key) => ({ name: 'aggregate', aggregate: true, points: o.figures.map((f) => [f.round, f[key]]) });
  const charts = [];
  for (const [key, label] of [['loss', 'Loss'], ['accuracy', 'Accuracy']]) {
    if (perSite) {
      for (const s of sites) charts.push(lineChart({ title: `${label}: ${s}`, series: [siteSeries(s, key)], maxX: o.job.totalRounds, yFrom0: key === 'accuracy' }));
    } else {
      charts.push(lineChart({ title: `${label} per round`, series: [aggregate(key), ...sites.map((s) => siteSeries(s, key))], maxX: o.job.totalRounds, yFrom0: key === 'accuracy' }));
    }
  }
  const hasData = o.figures.length > 0 || evals.length > 0;
  $('charts-empty').hidden = hasData;
  $('charts').replaceChildren(...(hasData ? charts : []));
}

function renderPrivacy(p) {
  $('privacy-panel').hidden = p === null;
  if (!p) return;
  const facts = [
    ['Encryption', p.encryption.enabled ? `on (${p.encryption.paramSet ?? 'parameters pending'})` : 'off'],
    ['Key epoch', p.encryption.keyEpoch === null ? (p.encryption.enabled ? 'no key yet (ceremony pending)' : 'not applicable') : `${p.encryption.keyEpoch} (${p.encryption.keyStatus})`],
    ['Clipping norm', p.clipNorm === null ? 'not set for this run' : String(p.clipNorm)],
    ['Noise multiplier', p.noiseMultiplier === null ? 'no differential-privacy noise recorded for this run' : String(p.noiseMultiplier)],
  ];
  $('privacy-list').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', k), el('dd', v)]));
  $('budgets-empty').hidden = p.budgets.length > 0;
  $('budgets-table').hidden = p.budgets.length === 0;
  const eps = (v) => (v === null || v === undefined ? 'not reported' : Number(v).toFixed(3));
  $('budgets-table').querySelector('tbody').replaceChildren(...p.budgets.map((b) => row([
    b.name, String(b.rounds), eps(b.spent), eps(b.ledgerSpent), eps(b.epsilon), eps(b.remaining)])));
}

/** The release of a model version, as the release routes report it (the latest, a released one first). */
function releaseOf(m) {
  const of = runReleases.filter((r) => r.inputModelId === m.id || r.modelId === m.id)
    .sort((a, b) => String(a.createdAt).localeCompare(String(b.createdAt)));
  return of.find((r) => r.state === 'released') ?? of.at(-1) ?? null;
}

function renderModels(models) {
  $('models-panel').hidden = models === null;
  if (!models) return;
  $('models-empty').hidden = models.length > 0;
  $('models-table').hidden = models.length === 0;
  const na = (v, none) => (v === null || v === undefined ? none : String(v.verdict ?? v));
  $('models-table').querySelector('tbody').replaceChildren(...models.map((m) => {
    const release = releaseOf(m);
    const state = !release ? 'not released' : m.kind === 'released' ? 'released (the plaintext model)' : release.state;
    const approvals = release?.approvals.length ? release.approvals.map((a) => `${a.capacity} by ${a.approver}`).join(', ') : 'none';
    return row([m.round, el('span', m.sha256, 'mono'), na(m.signature, 'not signed'), na(m.logInclusion, 'not logged'), state, approvals]);
  }));
}

/** Site versions and the run's releases, from their own routes; either may be absent (older coordinator, role). */
async function loadRunSources(jobId) {
  // Only roles that see the models panel read releases (others would only collect refusals).
  const models = lastOverview?.models !== null && lastOverview?.models !== undefined;
  const [sites, releases] = await Promise.all([
    api('/v1/sites').catch(() => ({ sites: [] })),
    models ? api(`/v1/releases?state=all&job=${encodeURIComponent(jobId)}`).catch(() => ({ releases: [] })) : { releases: [] },
  ]);
  siteVersions = new Map((sites.sites ?? []).map((s) => [s.id, s]));
  runReleases = releases.releases ?? [];
  if (lastOverview?.job.id === jobId) renderRun(lastOverview);
}

function stopStream() {
  if (stream) stream.abort();
  stream = null;
}

/** Live updates: server-sent events read with fetch (so the token travels in a header, never in the URL). */
async function follow(jobId) {
  stopStream();
  const ctrl = new AbortController();
  stream = ctrl;
  $('run-live').textContent = 'live';
  while (stream === ctrl && session.token) {
    let ended = false;
    try {
      const res = await fetch(`/v1/jobs/${encodeURIComponent(jobId)}/events`, { headers: { authorization: `Bearer ${session.token}`, accept: 'text/event-stream' }, signal: ctrl.signal });
      if (res.status === 401) { await logoff('Logged off: the session ended. Log in again.'); return; }
      if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          if (event === 'overview') renderRun(JSON.parse(data));
          if (event === 'end') ended = true;
        }
      }
    } catch (e) {
      if (ctrl.signal.aborted) return;
    }
    if (ended) { $('run-live').textContent = 'finished'; stream = null; return; }
    await new Promise((r) => setTimeout(r, 1000)); // reconnect (a reauth, or a dropped connection)
  }
}

async function openRun(id) {
  show('run-view');
  lastOverview = null;
  siteVersions = new Map();
  runReleases = [];
  const visit = visits;
  try {
    const overview = await api(`/v1/jobs/${encodeURIComponent(id)}/overview`);
    if (visit !== visits) return; // the viewer went elsewhere meanwhile
    renderRun(overview);
    if (lastOverview.job.status === 'running') void follow(id);
    else $('run-live').textContent = '';
    // Releases and site versions change without a run event (a release comes after the run): read them now and then.
    pageTimer = setInterval(() => void loadRunSources(id).catch(() => {}), 5000);
    await loadRunSources(id);
  } catch (e) {
    $('run-waiting').textContent = e.message;
  }
}

// ---- audit ---------------------------------------------------------------------------------

function auditQuery() {
  const q = new URLSearchParams();
  for (const [k, v] of new FormData($('audit-form'))) {
    if (!v) continue;
    q.set(k, k === 'from' || k === 'to' ? new Date(String(v)).toISOString() : String(v));
  }
  return q;
}

async function loadAudit(append) {
  const q = auditQuery();
  if (append && auditNext) q.set('before', String(auditNext));
  const { events, next } = await api(`/v1/audit/events?${q}`);
  auditNext = next;
  const rows = events.map((e) => row([e.seq, fmtTime(e.at), e.actor, e.role, e.site ?? '', e.action, e.outcome, e.resource ?? '']));
  const body = $('audit-table').querySelector('tbody');
  if (append) body.append(...rows); else body.replaceChildren(...rows);
  $('audit-empty').hidden = body.children.length > 0;
  $('audit-more').hidden = next === null;
}

async function exportAudit() {
  const status = $('audit-export-status');
  status.textContent = 'Preparing the export...';
  const q = auditQuery();
  for (const k of ['actor', 'role', 'action', 'outcome']) q.delete(k); // the bundle covers a time range and site
  const res = await fetch(`/v1/audit/export?${q}`, { headers: { authorization: `Bearer ${session.token}` } });
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    status.textContent = `Export refused: ${body.code ?? res.status} ${body.message ?? ''}`;
    return;
  }
  const url = URL.createObjectURL(await res.blob());
  const a = el('a', 'Download the audit bundle');
  a.href = url;
  a.download = `medfed-audit-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.tar.gz`;
  status.replaceChildren(a);
}

function openAudit() {
  show('audit-view');
  $('audit-export').hidden = !NAV_ROLES.export.includes(session.who.role);
  void loadAudit(false).catch((e) => { $('audit-empty').hidden = false; $('audit-empty').textContent = e.message; });
}

// ---- start ---------------------------------------------------------------------------------

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('login-error').textContent = '';
  try {
    await login($('api-key').value.trim());
    $('api-key').value = '';
    $('login-notice').textContent = '';
    if (!location.hash || location.hash === '#/login') location.hash = '#/runs';
    render();
  } catch (e) {
    $('login-error').textContent = `Login refused: ${e.message}`;
  }
});
$('logout').addEventListener('click', () => void logoff('Logged out.'));
$('per-site-toggle').addEventListener('change', () => { if (lastOverview) drawCharts(lastOverview); });
$('audit-form').addEventListener('submit', (ev) => { ev.preventDefault(); void loadAudit(false).catch(() => {}); });
$('audit-more').addEventListener('click', () => void loadAudit(true).catch(() => {}));
$('audit-export').addEventListener('click', () => void exportAudit().catch((e) => { $('audit-export-status').textContent = e.message; }));
addEventListener('hashchange', render);
await loadSettings();
watchSession();
render();
