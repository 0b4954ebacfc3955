#!/usr/bin/env node
// Dependency scan through the supply-chain gate: runs `npm audit --omit=dev --json`, converts the
// result into the gate's vulnerability input and applies the policy's vulnerability rules (and
// exemptions) for one environment. Exit codes as `medfed gate evaluate`: 0 allow, 1 warn, 2 stop.
// Where the registry does not answer audit requests (some mirrors answer 405) or does not answer
// in time, it warns that the scan is unavailable and exits 0: the external pipeline runs it.
//
// Usage: node scripts/npm-audit-gate.mjs [--env dev|staging|prod] [--policy FILE] [--json]
//          [--report AUDIT.json] [--registry URL] [--cwd DIR] [--timeout-ms 20000]
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

const STOP = 2;

function usage(message) {
  process.stderr.write(`npm-audit-gate: ${message}\n`);
  process.exit(STOP);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      env: { type: 'string', default: 'prod' },
      policy: { type: 'string' },
      report: { type: 'string' },
      registry: { type: 'string' },
      cwd: { type: 'string', default: process.cwd() },
      'timeout-ms': { type: 'string', default: '20000' },
      json: { type: 'boolean', default: false },
    },
  }));
} catch (error) {
  usage(error.message);
}
if (!['dev', 'staging', 'prod'].includes(values.env)) usage(`--env ${values.env} is not one of dev, staging, prod`);
const timeoutMs = Number(values['timeout-ms']);
if (!Number.isInteger(timeoutMs) || timeoutMs < 1) usage('--timeout-ms must be a positive integer');

/** Runs npm audit, time-boxed. Resolves to { stdout } or { unavailable: reason }. */
function runNpmAudit() {
  const args = ['audit', '--omit=dev', '--json'];
  if (values.registry) args.push(`--registry=${values.registry}`);
  return new Promise((resolve) => {
    let stdout = '';
    let settled = false;
    const finish = (result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const child = spawn(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, { cwd: values.cwd, stdio: ['ignore', 'pipe', 'ignore'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ unavailable: `npm audit did not answer within ${timeoutMs} ms` });
    }, timeoutMs);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.on('error', (error) => finish({ unavailable: `npm could not be started (${error.code ?? error.message})` }));
    // npm audit exits non-zero both when it finds vulnerabilities and when it fails: read the JSON.
    child.on('close', () => finish({ stdout }));
  });
}

/** An audit report, or the reason the registry gave none. */
function auditReportOrReason(text) {
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    return { unavailable: 'npm audit printed no JSON report' };
  }
  if (json && json.auditReportVersion !== undefined) return { report: Buffer.from(text) };
  const status = json?.statusCode ?? json?.error?.code;
  const detail = json?.message ?? json?.error?.summary ?? 'no report';
  return { unavailable: `the registry answered the audit request with ${status ?? 'an error'}: ${String(detail).split('\n')[0]}` };
}

let outcome;
if (values.report) {
  outcome = { report: await readFile(values.report).catch((error) => usage(`--report ${values.report}: ${error.code ?? error.message}`)) };
} else {
  const run = await runNpmAudit();
  outcome = run.unavailable ? run : auditReportOrReason(run.stdout);
}

if (outcome.unavailable) {
  process.stderr.write(`warning: dependency scan unavailable: ${outcome.unavailable}; the external pipeline runs it\n`);
  if (values.json) process.stdout.write(`${JSON.stringify({ decision: 'unavailable', reason: outcome.unavailable })}\n`);
  process.exit(0);
}

let gate;
try {
  gate = await import('@medfed/gate');
} catch (error) {
  usage(`cannot load @medfed/gate (${error.message}); run npm run build first`);
}
const decision = await gate.evaluateDependencyReport({
  report: outcome.report,
  env: values.env,
  subject: values.report ?? 'package-lock.json (npm audit --omit=dev)',
  ...(values.policy ? { policy: values.policy } : {}),
});
process.stdout.write(values.json ? `${JSON.stringify(gate.decisionToJson(decision), null, 2)}\n` : gate.renderDecisionText(decision));
process.exit(gate.DECISION_EXIT_CODE[decision.decision]);
