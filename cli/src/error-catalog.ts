import {
  ATTESTATION_ERRORS, HE_ERRORS, GrpcStatus, type ErrorTable,
} from '@medfed/proto';
import { AUDIT_ERRORS } from '@medfed/proto/audit/index';
import { AUTH_ERRORS } from '@medfed/proto/auth/index';
import { BUNDLE_ERRORS } from '@medfed/proto/bundle/index';
import { MANIFEST_ERRORS } from '@medfed/proto/manifest/index';
import { TLOG_ERRORS } from '@medfed/proto/tlog/index';
import { TRUST_BUNDLE_ERRORS } from '@medfed/proto/trust/index';
import { GOVERNANCE_ERRORS } from '@medfed/proto/governance/index';
import { ATTESTATION_POLICY_ERRORS, AUDIT_STORE_ERRORS, ERROR_TABLE } from '@medfed/coordinator';
import { DATA_ERRORS, PRIVACY_ERRORS, SANDBOX_ERRORS, TASK_ERRORS, TRAINING_ERRORS } from '@medfed/node-agent';
import { MASKING_ERRORS } from '@medfed/node-agent/masking/index';
import { APPROVAL_ERRORS } from '@medfed/node-agent/approvals/index';
import { CUSTODY_ERRORS } from '@medfed/node-agent/custody/index';
import { QUERY_API_ERRORS } from '@medfed/node-agent/query-api/index';
import { GATE_ERRORS } from '@medfed/gate';
import { SIMULATE_ERRORS } from './simulate/errors.js';
import { TRUST_ERRORS } from '@medfed/node-agent/verification/index';
import { ExitCode, ORIGIN_UNVERIFIED_EXIT } from './exit-codes.js';
import { PREFLIGHT_CHECKS } from './commands/preflight.js';
import { CONNECTION_ERRORS, REFUSAL_EXITS } from './coordinator-connection.js';

/** Every stable error code medfed answers with, grouped by area: the source of docs/errors.md. */
export const ERROR_CATALOG: ReadonlyArray<{ area: string; table: ErrorTable }> = [
  { area: 'Coordinator API (REST and gRPC)', table: ERROR_TABLE },
  { area: 'Credentials and access', table: AUTH_ERRORS },
  { area: 'Homomorphic encryption and key custody', table: HE_ERRORS },
  { area: 'Manifests', table: MANIFEST_ERRORS },
  { area: 'Transparency log', table: TLOG_ERRORS },
  { area: 'Model bundles', table: BUNDLE_ERRORS },
  { area: 'Model verification at the site (trust anchors)', table: TRUST_ERRORS },
  { area: 'Consortium trust bundle', table: TRUST_BUNDLE_ERRORS },
  { area: "Hospitals' signed approvals and the consortium roster (releases, audit purges, rule changes)", table: GOVERNANCE_ERRORS },
  { area: 'Attestation format', table: ATTESTATION_ERRORS },
  { area: 'Attestation policy (coordinator)', table: ATTESTATION_POLICY_ERRORS },
  { area: 'Audit format and verification', table: AUDIT_ERRORS },
  { area: 'Audit storage and export', table: AUDIT_STORE_ERRORS },
  { area: 'Site data', table: DATA_ERRORS },
  { area: 'Local training', table: TRAINING_ERRORS },
  { area: 'Training sandbox', table: SANDBOX_ERRORS },
  { area: 'Privacy accounting', table: PRIVACY_ERRORS },
  { area: 'Field masking', table: MASKING_ERRORS },
  { area: 'Job approval at the site', table: APPROVAL_ERRORS },
  { area: 'Tasks at the site', table: TASK_ERRORS },
  { area: 'Site pins and site-list approval', table: CUSTODY_ERRORS },
  { area: 'Local query API (hospital side)', table: QUERY_API_ERRORS },
  { area: 'Supply-chain gate', table: GATE_ERRORS },
  { area: 'Simulation', table: SIMULATE_ERRORS },
];

const GRPC_NAME = Object.fromEntries(Object.entries(GrpcStatus).map(([k, v]) => [v, k]));

export const EXIT_CODE_MEANING: Readonly<Record<keyof typeof ExitCode, string>> = {
  OK: 'success',
  FAILURE: 'the operation failed (a job failed, an agent exited, an unexpected error); `medfed gate evaluate`: warn',
  USAGE: 'bad command-line usage or a value a flag does not accept; `medfed gate evaluate`: stop, and every failure',
  CONFIG: 'configuration file, key file or state file invalid (the message names the key)',
  DATA: 'the data file is unreadable or does not fit (malformed CSV, missing label, schema mismatch)',
  UNREACHABLE: 'the coordinator cannot be reached',
  AUTH: 'a credential is missing, expired or refused',
  VERIFY_FAILED: 'a verification failed (model bundle, audit bundle): the message names the first bad element',
  REFUSED: 'refused by policy (masking rules, authorization)',
  INTERRUPTED: 'interrupted (Ctrl-C)',
};

/** docs/errors.md, generated from the tables above (`npm run gen:errors`); a test keeps them in sync. */
export function renderErrorsDoc(): string {
  const lines = [
    '# Errors and exit codes',
    '',
    'Generated from the code by `npm run gen:errors`; `test/docs/errors-doc.test.ts` fails when this file and the code disagree.',
    'Every REST error body is `{"code", "message"}`; gRPC errors carry the same code in the `medfed-code` trailer and as the',
    'message prefix. The CLI prints `medfed: error CODE: message` on stderr.',
    '',
    '## Exit codes of the `medfed` command',
    '',
    '| exit code | name | meaning |',
    '|---|---|---|',
    ...Object.entries(ExitCode).map(([name, code]) => `| ${code} | ${name} | ${EXIT_CODE_MEANING[name as keyof typeof ExitCode]} |`),
    '',
    '`medfed gate evaluate` has its own published codes: 0 allow, 1 warn, 2 stop (and every failure, usage errors included).',
    '',
    `\`medfed audit verify\` and \`medfed model verify\` exit ${ORIGIN_UNVERIFIED_EXIT} (origin unverified) when every check passed but no trust anchor was pinned (\`--trust DIR\`, or \`--jwks\` and \`--log-key\`): the bundle is intact, yet nothing shows who made it. They fail closed: only a pinned verification exits 0.`,
    '',
    '`medfed agent preflight` exits with the code of the first failing check:',
    '',
    '| exit code | code | check | fix |',
    '|---|---|---|---|',
    ...Object.values(PREFLIGHT_CHECKS).map((c) => `| ${c.exit} | \`${c.code}\` | ${c.title} | ${c.fix.replaceAll('|', '\\|')} |`),
    '',
    'Every command that talks to a running coordinator (`admin`, `sites`, `jobs`, `runs`, `keys`, `stats`, `model export`, `model release`,',
    '`audit export|purge`) resolves `--coordinator`, `--token`/`--key-file` and `--ca` (or their environment variables) in one place and exits with:',
    '',
    '| exit code | code | when |',
    '|---|---|---|',
    ...CONNECTION_ERRORS.map((e) => `| ${ExitCode[e.exit]} | \`${e.code}\` | ${e.when.replaceAll('|', '\\|')} |`),
    '',
    `Otherwise ${REFUSAL_EXITS}.`,
    '',
  ];
  for (const { area, table } of ERROR_CATALOG) {
    lines.push(`## ${area}`, '', '| code | HTTP | gRPC | meaning |', '|---|---|---|---|');
    for (const [code, spec] of Object.entries(table).sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`| \`${code}\` | ${spec.http} | ${GRPC_NAME[spec.grpc] ?? spec.grpc} | ${spec.summary.replaceAll('|', '\\|')} |`);
    }
    lines.push('');
  }
  return `${lines.join('\n')}`;
}
