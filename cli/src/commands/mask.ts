import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { Command, CommanderError } from 'commander';
import {
  DEFAULT_OPT_OUT_FILE,
  MaskingError,
  ROLES,
  defaultSitePolicy,
  inferSchema,
  loadOptOutList,
  loadOrCreatePseudonymKey,
  loadSitePolicy,
  maskRecords,
  parseRole,
  parseSchema,
  planMasking,
  readCsv,
  writeCsv,
  type DatasetSchema,
  type MaskResult,
  type MaskingErrorCode,
  type Role,
  type SitePolicy,
} from '@medfed/node-agent/masking/index';
import { writeFileAtomic } from '@medfed/node-agent/privacy/index';
import { ExitCode } from '../exit-codes.js';

/**
 * `medfed mask --data FILE.csv [--schema FILE] --role ROLE [--study ID] --out FILE.csv`: writes
 * exactly what ROLE would see of the file under the site's policy, through the same maskRecords the
 * agent uses. It is a preview: noise is never drawn (noised fields show a marker) and no privacy
 * budget is spent. Pseudonyms use the site's key (created on first use, mode 0600).
 * Exit codes: 0 written, 2 usage, 3 policy/key/state problem, 4 unreadable data or schema,
 * 8 refused by the masking rules.
 */

export interface MaskIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly exit: (code: number) => void;
}

const processIo: MaskIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  exit: (code) => {
    process.exitCode = code;
  },
};

export interface MaskCliOptions {
  readonly data: string;
  readonly schema?: string;
  readonly role: string;
  readonly study?: string;
  readonly site?: string;
  readonly clinician?: string;
  readonly features?: string;
  readonly out: string;
  readonly policy?: string;
  readonly stateDir: string;
  readonly json?: boolean;
}

export const DEFAULT_STATE_DIR = './.medfed-agent';

export function register(program: Command, io: MaskIo = processIo): void {
  const mask = program
    .command('mask')
    .description("write what a role would see of a CSV under the site's masking policy (a preview: no noise drawn, no budget spent)")
    .requiredOption('--data <file.csv>', 'the records, CSV with a header row')
    .option('--schema <file.json>', 'dataset schema (fields with type and sensitivity class); default: inferred from the Safe Harbor name table')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--study <id>', 'study id (needed when fields are pseudonymised: pseudonyms are per study)')
    .option('--site <id>', "the requester's site (clinicians see only their own site's patients); default: the policy's site")
    .option('--clinician <user>', "clinician role: the clinician's user id; only patients whose care-team field names it (as the local query API does)")
    .option('--features <list>', 'training role: comma-separated approved features')
    .requiredOption('--out <file.csv>', 'where to write the masked CSV (mode 0600)')
    .option('--policy <file.json>', 'site masking policy (default: built-in defaults)')
    .option('--state-dir <dir>', "the agent's state dir (pseudonymisation key, opt-out list)", DEFAULT_STATE_DIR)
    .option('--json', 'print a JSON summary instead of text')
    .addHelpText(
      'after',
      [
        '',
        'Example:',
        '  medfed mask --data patients.csv --role researcher --study S-1 --out researcher-view.csv',
        '',
        `Exit codes: ${ExitCode.OK} written, ${ExitCode.USAGE} usage, ${ExitCode.CONFIG} policy/key/state problem,`,
        `  ${ExitCode.DATA} unreadable data or schema, ${ExitCode.REFUSED} refused by the masking rules.`,
      ].join('\n'),
    )
    .action(async (options: MaskCliOptions) => io.exit(await runMask(options, io)));
  mask.exitOverride((error: CommanderError) => {
    process.exit(error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE);
  });
}

/** Which exit code each masking refusal maps to. */
const EXIT_BY_CODE: Readonly<Record<MaskingErrorCode, ExitCode>> = {
  MASK_DIRECT_IDENTIFIER: ExitCode.REFUSED,
  MASK_QUASI_IDENTIFIER_COMBINATION: ExitCode.REFUSED,
  MASK_SMALL_CELL: ExitCode.REFUSED,
  MASK_FIELD_NOT_VISIBLE: ExitCode.REFUSED,
  MASK_FOREIGN_SITE: ExitCode.REFUSED,
  MASK_CARE_TEAM_UNRESOLVABLE: ExitCode.REFUSED,
  MASK_UNKNOWN_ROLE: ExitCode.USAGE,
  MASK_UNKNOWN_FIELD: ExitCode.USAGE,
  MASK_STUDY_REQUIRED: ExitCode.USAGE,
  MASK_FEATURES_REQUIRED: ExitCode.USAGE,
  MASK_INVALID_SCHEMA: ExitCode.DATA,
  MASK_INVALID_CSV: ExitCode.DATA,
  MASK_INVALID_POLICY: ExitCode.CONFIG,
  MASK_KEY_PERMISSIONS: ExitCode.CONFIG,
  MASK_KEY_INVALID: ExitCode.CONFIG,
  MASK_NOISE_UNCONFIGURED: ExitCode.CONFIG,
  MASK_NOISE_NEEDS_LEDGER: ExitCode.CONFIG,
  MASK_OPT_OUT_UNRESOLVABLE: ExitCode.CONFIG,
};

class UsageProblem extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** `medfed mask` with parsed options: writes the masked file, returns the exit code. */
export async function runMask(options: MaskCliOptions, io: Pick<MaskIo, 'stdout' | 'stderr'>): Promise<number> {
  try {
    let role: Role;
    try {
      role = parseRole(options.role);
    } catch {
      throw new UsageProblem(`--role must be one of ${ROLES.join(', ')}; got ${JSON.stringify(options.role)}`, ExitCode.USAGE);
    }
    if (resolve(options.out) === resolve(options.data)) throw new UsageProblem('--out must not be the --data file', ExitCode.USAGE);
    const features = options.features?.split(',').map((f) => f.trim()).filter((f) => f !== '');
    if (role === 'training' && (features === undefined || features.length === 0)) {
      throw new UsageProblem("--features is required for role training (the job's approved features, comma-separated)", ExitCode.USAGE);
    }
    const table = readCsv(await readInput(options.data, '--data'), options.data);
    const { schema, notes: schemaNotes } = options.schema === undefined ? inferSchema(table.columns, table.records) : await readSchema(options.schema, table.columns);
    const policy: SitePolicy = options.policy === undefined ? defaultSitePolicy() : await loadSitePolicy(options.policy);
    const stateDir = options.stateDir;
    const plan = planMasking(schema, policy, { role, ...(features === undefined ? {} : { features }) });
    const needsKey = plan.fields.some((p) => p.transform === 'pseudonymize');
    if (needsKey && (options.study === undefined || options.study.trim() === '')) {
      throw new UsageProblem(`--study is required for role ${role}: fields ${pseudonymised(plan.fields)} are pseudonymised, and pseudonyms are per study`, ExitCode.USAGE);
    }
    const optOutPath = policy.optOutFile === undefined ? join(stateDir, DEFAULT_OPT_OUT_FILE) : isAbsolute(policy.optOutFile) ? policy.optOutFile : join(stateDir, policy.optOutFile);
    const result = await maskRecords(table.records, schema, policy, {
      role,
      optOut: await loadOptOutList(optOutPath),
      site: options.site ?? policy.siteId,
      ...(role === 'clinician' && options.clinician !== undefined ? { clinicianId: options.clinician } : {}),
      noise: { mode: 'preview' },
      ...(options.study === undefined ? {} : { studyId: options.study }),
      ...(features === undefined ? {} : { features }),
      ...(needsKey ? { pseudonymKey: await loadOrCreatePseudonymKey(stateDir) } : {}),
    });
    await writeFileAtomic(options.out, renderCsv(result, role), 0o600);
    report(io, options, role, result, [...schemaNotes, ...result.notes]);
    return ExitCode.OK;
  } catch (error) {
    return fail(error, io);
  }
}

/** Auditors get metadata only: one row per field with its type, class and count of values. */
function renderCsv(result: MaskResult, role: Role): string {
  if (role !== 'auditor') return writeCsv(result.columns.map((c) => c.name), result.records);
  const rows = result.columns.map((c) => ({ field: c.name, type: c.type, class: c.class, values: c.count ?? 0 }));
  return writeCsv(['field', 'type', 'class', 'values'], rows);
}

function report(io: Pick<MaskIo, 'stdout'>, options: MaskCliOptions, role: Role, result: MaskResult, notes: readonly string[]): void {
  const { summary } = result;
  if (options.json === true) {
    const columns = result.columns.map((c) => ({ name: c.name, class: c.class, transform: c.transform }));
    io.stdout(`${JSON.stringify({ out: options.out, role, summary, columns, notes, preview: true, privacyBudgetSpent: false }, null, 2)}\n`);
    return;
  }
  const lines = [
    `wrote ${options.out}: ${summary.outputRows} records, ${result.columns.length} fields as role ${role} would see them (of ${summary.inputRows} records read)`,
    'preview: noise is not applied and no privacy budget was spent',
    ...notes.map((n) => `  - ${n}`),
  ];
  io.stdout(`${lines.join('\n')}\n`);
}

async function readInput(path: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new UsageProblem(`${flag} ${path}: cannot read it (${(error as { code?: string }).code ?? 'error'})`, ExitCode.DATA);
  }
}

/** A schema file; CSV columns it does not declare are not released (closed by default). */
async function readSchema(path: string, columns: readonly string[]): Promise<{ schema: DatasetSchema; notes: string[] }> {
  let value: unknown;
  try {
    value = JSON.parse((await readInput(path, '--schema')).toString('utf8'));
  } catch (error) {
    if (error instanceof UsageProblem) throw error;
    throw new UsageProblem(`--schema ${path}: not valid JSON`, ExitCode.DATA);
  }
  const schema = parseSchema(value, path);
  const declared = new Set(schema.fields.map((f) => f.name));
  const notes = columns.filter((c) => !declared.has(c)).map((c) => `column "${c}" is not in the schema and is left out`);
  return { schema, notes };
}

function pseudonymised(plans: readonly { field: { name: string }; transform: string }[]): string {
  return plans
    .filter((p) => p.transform === 'pseudonymize')
    .map((p) => `"${p.field.name}"`)
    .join(', ');
}

function fail(error: unknown, io: Pick<MaskIo, 'stderr'>): number {
  if (error instanceof UsageProblem) {
    io.stderr(`medfed mask: ${error.message}\n`);
    return error.exitCode;
  }
  if (error instanceof MaskingError) {
    io.stderr(`medfed mask: error ${error.code}: ${error.message}\n`);
    return EXIT_BY_CODE[error.code];
  }
  const code = (error as { code?: unknown }).code;
  io.stderr(`medfed mask: error ${typeof code === 'string' ? code : 'MASK_FAILURE'}: ${error instanceof Error ? error.message : String(error)}\n`);
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? ExitCode.CONFIG : ExitCode.FAILURE;
}
