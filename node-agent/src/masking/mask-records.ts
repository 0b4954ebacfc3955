import type { ByteSource } from '../privacy/noise/index.js';
import type { PrivacyLedger } from '../privacy/ledger/index.js';
import { anonymise, DEFAULT_SUPPRESSION_LIMIT, type InformationLoss, type KAnonymitySummary } from './anonymity/anonymise.js';
import { releaseNotes } from './anonymity/notes.js';
import { NOISE_PREVIEW, rawValue, type Cell } from './cells.js';
import { MaskingError } from './errors.js';
import { excludeOptedOut } from './opt-out.js';
import { planMasking, type FieldPlan } from './plan.js';
import type { GeneralizeSpec, NoiseSpec, SitePolicy } from './policy.js';
import { parseRole, type Role } from './roles.js';
import { withSafeHarborMeaning } from './safe-harbor-meaning.js';
import type { DatasetSchema, FieldType, SensitivityClass, TransformName } from './schema.js';
import { generalize, generalizationOf, generalizeContext, type GeneralizeContext } from './transforms/generalize.js';
import { noisyValue } from './transforms/noise.js';
import { pseudonymize, studyKey } from './transforms/pseudonym.js';

/** Noise is either previewed (a marker, nothing spent) or drawn after charging the ledger. */
export type NoiseMode =
  | { readonly mode: 'preview' }
  | { readonly mode: 'apply'; readonly ledger: PrivacyLedger; readonly purpose: string; readonly job?: string; readonly source?: ByteSource };

export interface MaskContext {
  readonly role: Role;
  /** Needed whenever a field is pseudonymised: pseudonyms are per study. */
  readonly studyId?: string;
  /** The requester's site. Clinicians see only patients of this site. */
  readonly site?: string;
  /**
   * The clinician's user id (local query API): only patients whose care-team field names it are
   * shown. Requires the schema's careTeamField.
   */
  readonly clinicianId?: string;
  /** Training: the job's approved features. */
  readonly features?: readonly string[];
  readonly requested?: Readonly<Record<string, TransformName>>;
  /** Patients who opted out (required, so that no caller can forget them; pass an empty set if none). */
  readonly optOut: ReadonlySet<string>;
  /** The site's pseudonymisation key (see loadOrCreatePseudonymKey). */
  readonly pseudonymKey?: Uint8Array;
  /** Default: preview. */
  readonly noise?: NoiseMode;
  /**
   * Reference date of the masking run (default now): birth years are top-coded against its year,
   * and dates of birth are recognised by their values against it.
   */
  readonly now?: Date;
  /** Receives the notes as log lines (they carry field names and counts, never values). */
  readonly log?: (line: string) => void;
}

export interface MaskedColumn {
  readonly name: string;
  readonly type: FieldType;
  readonly class: SensitivityClass;
  readonly transform: TransformName | 'metadata';
  readonly identifier?: string;
  /** What the column holds: "full", "pseudonym", "10-year bands", "ZIP3", "year"... (not for auditors). */
  readonly holds?: string;
  /** Quasi-identifiers: the normalised certainty penalty of the column, 0 exact .. 1 nothing left. */
  readonly ncp?: number;
  /** Auditor only: how many records have a value in this field. */
  readonly count?: number;
}

export interface MaskSummary {
  readonly inputRows: number;
  readonly outputRows: number;
  readonly excludedOptedOut: number;
  readonly excludedOtherSite: number;
  /** Values withheld because they could not be generalised (unparseable date, ZIP, age...). */
  readonly withheldValues: number;
  /** Rows whose quasi-identifiers were suppressed ("*") to reach k-anonymity. */
  readonly suppressedRows: number;
  readonly epsilonSpent: number;
  readonly deltaSpent: number;
  /** What each released field holds, by name: "full", "pseudonym", "10-year bands", "ZIP3", "year"... */
  readonly fields: Readonly<Record<string, string>>;
  /** Researchers (unless the policy turns it off): the k-anonymity step and its decision. */
  readonly kAnonymity?: KAnonymitySummary;
  /** Normalised certainty penalty of the released quasi-identifiers, per field and overall. */
  readonly informationLoss: InformationLoss;
}

export interface MaskResult {
  readonly records: Record<string, Cell>[];
  readonly columns: readonly MaskedColumn[];
  readonly notes: readonly string[];
  readonly summary: MaskSummary;
}

/**
 * What `role` may see of `records` under the site's policy: the one code path behind the agent's
 * local query API and `medfed mask`. Opted-out patients are removed first, for every role.
 */
export async function maskRecords(
  records: readonly Readonly<Record<string, unknown>>[],
  schema: DatasetSchema,
  policy: SitePolicy,
  context: MaskContext,
): Promise<MaskResult> {
  const role = parseRole(context.role);
  const now = context.now ?? new Date();
  const plan = planMasking(schema, policy, { role, ...pick(context) });
  const notes: string[] = [...plan.notes];
  const { kept: consenting, excluded: excludedOptedOut } = excludeOptedOut(records, schema, context.optOut);
  if (excludedOptedOut > 0) notes.push(`${excludedOptedOut} records of patients who opted out were excluded`);
  const { rows: siteRows, excludedOtherSite } = role === 'clinician' ? ownSiteOnly(consenting, schema, policy, context.site) : { rows: consenting, excludedOtherSite: 0 };
  if (excludedOtherSite > 0) notes.push(`${excludedOtherSite} records of other sites' patients were excluded`);
  const { rows } = role === 'clinician' && context.clinicianId !== undefined ? ownPatientsOnly(siteRows, schema, context.clinicianId) : { rows: siteRows };
  const base = { inputRows: records.length, excludedOptedOut, excludedOtherSite, suppressedRows: 0, epsilonSpent: 0, deltaSpent: 0 };

  if (role === 'auditor') {
    const columns = plan.fields.map((p) => ({ ...columnOf(p), transform: 'metadata' as const, count: rows.filter((r) => rawValue(r[p.field.name]) !== undefined).length }));
    notes.push(`metadata only: ${rows.length} records, ${columns.length} fields; no values are released to auditors`);
    return finish({ records: [], columns, notes, summary: { ...base, outputRows: 0, withheldValues: 0, fields: {}, informationLoss: { fields: {}, overall: 0 } } }, context);
  }

  // Safe Harbor by meaning: birth dates and ages are generalised (top-coded) as such, however named.
  const released = plan.fields.filter((p) => p.transform !== 'redact');
  const meaning = withSafeHarborMeaning(released.map((p) => p.field), rows, now);
  notes.push(...meaning.notes);
  const shown = released.map((p, i): FieldPlan => ({ ...p, field: meaning.fields[i] as FieldPlan['field'] }));
  for (const p of plan.fields) {
    if (p.transform === 'redact') notes.push(`field "${p.field.name}" ${p.source === 'not-approved' ? 'is not an approved feature' : 'is redacted'} and left out`);
  }
  const key = needsKey(shown) ? studyKeyFor(context) : undefined;
  const noiseMode = context.noise ?? { mode: 'preview' };
  const spent = await chargeNoise(shown, rows, schema, noiseMode, role);
  if (shown.some((p) => p.transform === 'noise')) {
    notes.push(
      noiseMode.mode === 'preview'
        ? `noised fields are shown as "${NOISE_PREVIEW}"; no noise was drawn and no privacy budget was spent`
        : `noise drawn for ${shown.filter((p) => p.transform === 'noise').length} fields; epsilon ${spent.epsilon} and delta ${spent.delta} charged to the dataset's privacy ledger`,
    );
  }

  const referenceYear = now.getUTCFullYear();
  const contextOf = (p: FieldPlan): GeneralizeContext => {
    const spec = typeof p.spec === 'object' && p.spec.transform === 'generalize' ? (p.spec as GeneralizeSpec) : undefined;
    return generalizeContext(spec, role === 'researcher' ? policy.ageBands : undefined, referenceYear);
  };
  let withheldValues = 0;
  const masked = rows.map((row) => {
    const out: Record<string, Cell> = {};
    for (const p of shown) {
      const value = rawValue(row[p.field.name]);
      const cell = value === undefined ? null : maskValue(p, value, { key, contextOf, noiseMode });
      if (value !== undefined && cell === null) withheldValues++;
      out[p.field.name] = cell;
    }
    return out;
  });
  if (withheldValues > 0) notes.push(`${withheldValues} values could not be generalised (unparseable) and were withheld`);

  const anonymised = anonymise(rows, masked, shown, {
    enforce: role === 'researcher' && policy.suppressRareQuasiIdentifiers !== false,
    k: policy.minCellSize,
    suppressionLimit: policy.suppressionLimit ?? DEFAULT_SUPPRESSION_LIMIT,
    noisePreview: noiseMode.mode === 'preview',
    contextOf,
  });
  notes.push(...releaseNotes(shown.map((p) => p.field.name), anonymised, masked.length));
  const k = anonymised.kAnonymity;
  const loss = anonymised.informationLoss;
  return finish(
    {
      records: masked,
      columns: shown.map((p) => ({
        ...columnOf(p),
        holds: anonymised.holds[p.field.name] as string,
        ...(loss.fields[p.field.name] === undefined ? {} : { ncp: loss.fields[p.field.name] as number }),
      })),
      notes,
      summary: {
        ...base,
        outputRows: masked.length,
        withheldValues,
        suppressedRows: k?.suppressedRows ?? 0,
        epsilonSpent: spent.epsilon,
        deltaSpent: spent.delta,
        fields: anonymised.holds,
        ...(k === undefined ? {} : { kAnonymity: k }),
        informationLoss: loss,
      },
    },
    context,
  );
}

interface ValueContext {
  readonly key: Uint8Array | undefined;
  readonly contextOf: (p: FieldPlan) => GeneralizeContext;
  readonly noiseMode: NoiseMode;
}

function maskValue(p: FieldPlan, value: string | number | boolean, ctx: ValueContext): Cell {
  switch (p.transform) {
    case 'full':
      return value;
    case 'redact':
      return null;
    case 'pseudonymize':
      return pseudonymize(ctx.key as Uint8Array, p.field.identifier ?? p.field.name, String(value).trim());
    case 'generalize':
      return generalize(generalizationOf(p.field), value, ctx.contextOf(p)) ?? null;
    case 'noise': {
      if (ctx.noiseMode.mode === 'preview') return NOISE_PREVIEW;
      const x = Number(value);
      return Number.isFinite(x) && String(value).trim() !== '' ? noisyValue(x, p.spec as NoiseSpec, ctx.noiseMode.source) : null;
    }
  }
}

function pick(context: MaskContext): { features?: readonly string[]; requested?: Readonly<Record<string, TransformName>> } {
  return {
    ...(context.features === undefined ? {} : { features: context.features }),
    ...(context.requested === undefined ? {} : { requested: context.requested }),
  };
}

function ownSiteOnly(
  records: readonly Readonly<Record<string, unknown>>[],
  schema: DatasetSchema,
  policy: SitePolicy,
  site: string | undefined,
): { rows: readonly Readonly<Record<string, unknown>>[]; excludedOtherSite: number } {
  if (site === undefined || site.trim() === '') {
    throw new MaskingError('MASK_FOREIGN_SITE', "a clinician's request must name the clinician's site");
  }
  const siteField = schema.siteField;
  if (siteField === undefined) {
    if (site !== policy.siteId) {
      throw new MaskingError('MASK_FOREIGN_SITE', `these records belong to site "${policy.siteId}"; a clinician of site "${site}" may not see them`);
    }
    return { rows: records, excludedOtherSite: 0 };
  }
  const rows = records.filter((r) => String(r[siteField] ?? '').trim() === site);
  return { rows, excludedOtherSite: records.length - rows.length };
}

/** A clinician's own patients: those whose care-team field lists the clinician's user id. */
function ownPatientsOnly(
  records: readonly Readonly<Record<string, unknown>>[],
  schema: DatasetSchema,
  clinicianId: string,
): { rows: readonly Readonly<Record<string, unknown>>[] } {
  const field = schema.careTeamField;
  if (field === undefined) {
    throw new MaskingError('MASK_CARE_TEAM_UNRESOLVABLE', "the schema declares no careTeamField, so a clinician's own patients cannot be told apart; declare it in the schema");
  }
  const id = clinicianId.trim();
  if (id === '') throw new MaskingError('MASK_CARE_TEAM_UNRESOLVABLE', "a clinician's request must name the clinician");
  return { rows: records.filter((r) => String(r[field] ?? '').split(/[;,|\s]+/).includes(id)) };
}

function needsKey(plans: readonly FieldPlan[]): boolean {
  return plans.some((p) => p.transform === 'pseudonymize');
}

function studyKeyFor(context: MaskContext): Uint8Array {
  if (context.studyId === undefined || context.studyId.trim() === '') {
    throw new MaskingError('MASK_STUDY_REQUIRED', 'some fields are pseudonymised for this role, and pseudonyms are per study: give a study id');
  }
  if (context.pseudonymKey === undefined) {
    throw new MaskingError('MASK_KEY_INVALID', "some fields are pseudonymised but no site pseudonymisation key was given (load it with loadOrCreatePseudonymKey)");
  }
  return studyKey(context.pseudonymKey, context.studyId);
}

/**
 * Charges the ledger before any noise is drawn. Each noised field is one mechanism per patient row;
 * fields compose by adding (basic composition) and a patient with m rows is charged m times.
 */
async function chargeNoise(
  plans: readonly FieldPlan[],
  rows: readonly Readonly<Record<string, unknown>>[],
  schema: DatasetSchema,
  mode: NoiseMode,
  role: Role,
): Promise<{ epsilon: number; delta: number }> {
  const noised = plans.filter((p) => p.transform === 'noise');
  for (const p of noised) {
    const spec = p.spec;
    if (typeof spec !== 'object' || spec.transform !== 'noise' || (p.field.type !== 'integer' && p.field.type !== 'number')) {
      throw new MaskingError('MASK_NOISE_UNCONFIGURED', `field "${p.field.name}": noise needs a numeric field and a policy spec with mechanism, epsilon, lower, upper`);
    }
  }
  if (noised.length === 0 || mode.mode === 'preview' || rows.length === 0) return { epsilon: 0, delta: 0 };
  if (mode.ledger === undefined) throw new MaskingError('MASK_NOISE_NEEDS_LEDGER', 'noise is to be applied but no privacy ledger was given to charge');
  const perPatient = rowsPerPatient(rows, schema);
  const epsilon = perPatient * noised.reduce((sum, p) => sum + (p.spec as NoiseSpec).epsilon, 0);
  const delta = perPatient * noised.reduce((sum, p) => sum + ((p.spec as NoiseSpec).mechanism === 'gaussian' ? ((p.spec as NoiseSpec).delta ?? 0) : 0), 0);
  await mode.ledger.spend({ epsilon, delta, purpose: mode.purpose || `masked release for ${role}`, ...(mode.job === undefined ? {} : { job: mode.job }) });
  return { epsilon, delta };
}

/** Most rows any one patient has (1 when the schema names no patient id: one row per patient assumed). */
function rowsPerPatient(rows: readonly Readonly<Record<string, unknown>>[], schema: DatasetSchema): number {
  const idField = schema.patientIdField;
  if (idField === undefined) return 1;
  const counts = new Map<string, number>();
  let most = 1;
  for (const r of rows) {
    const id = String(r[idField] ?? '');
    const n = (counts.get(id) ?? 0) + 1;
    counts.set(id, n);
    most = Math.max(most, n);
  }
  return most;
}

function columnOf(p: FieldPlan): MaskedColumn {
  return {
    name: p.field.name,
    type: p.field.type,
    class: p.field.class,
    transform: p.transform,
    ...(p.field.identifier === undefined ? {} : { identifier: p.field.identifier }),
  };
}

function finish(result: MaskResult, context: MaskContext): MaskResult {
  for (const line of result.notes) context.log?.(`mask[${context.role}]: ${line}`);
  return result;
}
