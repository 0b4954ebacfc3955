import { readFile } from 'node:fs/promises';
import { MaskingError } from './errors.js';
import { ROLES, type Role } from './roles.js';
import { isOneOf, SENSITIVITY_CLASSES, TRANSFORMS, type SensitivityClass, type TransformName } from './schema.js';

/** Parameters of a `noise` transform: a value is clamped to [lower, upper] and noised on a grid. */
export interface NoiseSpec {
  readonly transform: 'noise';
  readonly mechanism: 'laplace' | 'gaussian';
  /** Charged to the dataset's ledger per release (per row a patient contributes). */
  readonly epsilon: number;
  /** Gaussian only, in (0, 1). */
  readonly delta?: number;
  readonly lower: number;
  readonly upper: number;
  /** Grid step of the released values (default 1). */
  readonly granularity?: number;
}

export interface GeneralizeSpec {
  readonly transform: 'generalize';
  /** Age band starts for age fields (90+ is always the top band). */
  readonly bands?: readonly number[];
  /** Bin width for numeric fields (default 10). */
  readonly binWidth?: number;
}

export type TransformSpec = TransformName | GeneralizeSpec | NoiseSpec | { readonly transform: Exclude<TransformName, 'generalize' | 'noise'> };

export interface RolePolicy {
  readonly byClass?: Partial<Record<SensitivityClass, TransformSpec>>;
  readonly fields?: Readonly<Record<string, TransformSpec>>;
}

/**
 * The site steward's masking policy (JSON file). It has the last word: a request can only ask for
 * something stricter than what the policy grants.
 */
export interface SitePolicy {
  readonly siteId: string;
  /** Smallest number of patients a released cell or row group may describe (default 11). */
  readonly minCellSize: number;
  /** Steward reclassification of fields, by name. */
  readonly fieldClasses?: Readonly<Record<string, SensitivityClass>>;
  readonly roles?: Partial<Record<Role, RolePolicy>>;
  /** Researcher age bands (band starts) used when a role's spec gives none. */
  readonly ageBands?: readonly number[];
  /** Opt-out list, relative to the agent's state dir (default "opt-out.txt"). */
  readonly optOutFile?: string;
  /**
   * k-anonymity for researchers with k = minCellSize (default true): the quasi-identifiers are
   * generalised up their hierarchies until every combination is shared by at least k rows, and only
   * then are the rows still in smaller classes suppressed ("*"). False: Safe Harbor alone.
   */
  readonly suppressRareQuasiIdentifiers?: boolean;
  /** Share of rows (0..1) that may be suppressed before generalising further (default 0.05). */
  readonly suppressionLimit?: number;
}

export const DEFAULT_MIN_CELL_SIZE = 11;

export function defaultSitePolicy(siteId = 'local'): SitePolicy {
  return { siteId, minCellSize: DEFAULT_MIN_CELL_SIZE };
}

export async function loadSitePolicy(path: string): Promise<SitePolicy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new MaskingError('MASK_INVALID_POLICY', `cannot read the site policy ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new MaskingError('MASK_INVALID_POLICY', `the site policy ${path} is not valid JSON`);
  }
  return parseSitePolicy(value, path);
}

/** Validates a policy object; every problem names its place in the file. */
export function parseSitePolicy(value: unknown, source = 'site policy'): SitePolicy {
  const fail = (where: string, why: string): never => {
    throw new MaskingError('MASK_INVALID_POLICY', `${source}: ${where} ${why}`);
  };
  if (!isObject(value)) return fail('the document', 'must be a JSON object');
  const siteId = value['siteId'];
  if (typeof siteId !== 'string' || siteId.trim() === '') return fail('siteId', 'must be a non-empty text');
  const minCellSize = value['minCellSize'] ?? DEFAULT_MIN_CELL_SIZE;
  if (typeof minCellSize !== 'number' || !Number.isInteger(minCellSize) || minCellSize < 1) return fail('minCellSize', 'must be an integer >= 1');
  const policy: { -readonly [K in keyof SitePolicy]: SitePolicy[K] } = { siteId, minCellSize };

  const fieldClasses = value['fieldClasses'];
  if (fieldClasses !== undefined) {
    if (!isObject(fieldClasses)) return fail('fieldClasses', 'must be an object of field -> class');
    for (const [name, cls] of Object.entries(fieldClasses)) {
      if (!isOneOf(SENSITIVITY_CLASSES, cls)) return fail(`fieldClasses.${name}`, `must be one of ${SENSITIVITY_CLASSES.join(', ')}`);
    }
    policy.fieldClasses = fieldClasses as Record<string, SensitivityClass>;
  }

  const roles = value['roles'];
  if (roles !== undefined) {
    if (!isObject(roles)) return fail('roles', 'must be an object keyed by role');
    for (const [role, rolePolicy] of Object.entries(roles)) {
      if (!isOneOf(ROLES, role)) return fail(`roles.${role}`, `is not a role (${ROLES.join(', ')})`);
      if (!isObject(rolePolicy)) return fail(`roles.${role}`, 'must be an object with byClass and/or fields');
      const byClass = rolePolicy['byClass'];
      if (byClass !== undefined) {
        if (!isObject(byClass)) return fail(`roles.${role}.byClass`, 'must be an object');
        for (const [cls, spec] of Object.entries(byClass)) {
          if (!isOneOf(SENSITIVITY_CLASSES, cls)) return fail(`roles.${role}.byClass.${cls}`, 'is not a sensitivity class');
          checkSpec(spec, `roles.${role}.byClass.${cls}`, fail);
        }
      }
      const fields = rolePolicy['fields'];
      if (fields !== undefined) {
        if (!isObject(fields)) return fail(`roles.${role}.fields`, 'must be an object');
        for (const [name, spec] of Object.entries(fields)) checkSpec(spec, `roles.${role}.fields.${name}`, fail);
      }
    }
    policy.roles = roles as Partial<Record<Role, RolePolicy>>;
  }

  const ageBands = value['ageBands'];
  if (ageBands !== undefined) {
    if (!isBands(ageBands)) return fail('ageBands', 'must be ascending integers >= 0');
    policy.ageBands = ageBands;
  }
  const optOutFile = value['optOutFile'];
  if (optOutFile !== undefined) {
    if (typeof optOutFile !== 'string' || optOutFile === '') return fail('optOutFile', 'must be a path');
    policy.optOutFile = optOutFile;
  }
  const suppress = value['suppressRareQuasiIdentifiers'];
  if (suppress !== undefined) {
    if (typeof suppress !== 'boolean') return fail('suppressRareQuasiIdentifiers', 'must be true or false');
    policy.suppressRareQuasiIdentifiers = suppress;
  }
  const suppressionLimit = value['suppressionLimit'];
  if (suppressionLimit !== undefined) {
    if (!(typeof suppressionLimit === 'number' && Number.isFinite(suppressionLimit) && suppressionLimit >= 0 && suppressionLimit <= 1)) {
      return fail('suppressionLimit', 'must be a number from 0 to 1 (the share of rows that may be suppressed)');
    }
    policy.suppressionLimit = suppressionLimit;
  }
  return policy;
}

function checkSpec(spec: unknown, where: string, fail: (where: string, why: string) => never): void {
  if (isOneOf(TRANSFORMS, spec)) {
    if (spec === 'noise') fail(where, 'noise needs parameters: {"transform": "noise", "mechanism", "epsilon", "lower", "upper"}');
    return;
  }
  if (!isObject(spec) || !isOneOf(TRANSFORMS, spec['transform'])) {
    fail(where, `must be one of ${TRANSFORMS.join(', ')} or an object with a "transform"`);
    return;
  }
  if (spec['transform'] === 'generalize') {
    if (spec['bands'] !== undefined && !isBands(spec['bands'])) fail(`${where}.bands`, 'must be ascending integers >= 0');
    const w = spec['binWidth'];
    if (w !== undefined && !(typeof w === 'number' && Number.isFinite(w) && w > 0)) fail(`${where}.binWidth`, 'must be a number > 0');
  }
  if (spec['transform'] === 'noise') {
    const { mechanism, epsilon, delta, lower, upper, granularity } = spec as Record<string, unknown>;
    if (mechanism !== 'laplace' && mechanism !== 'gaussian') fail(`${where}.mechanism`, 'must be "laplace" or "gaussian"');
    if (!(typeof epsilon === 'number' && Number.isFinite(epsilon) && epsilon > 0)) fail(`${where}.epsilon`, 'must be a number > 0');
    if (mechanism === 'gaussian' && !(typeof delta === 'number' && delta > 0 && delta < 1)) fail(`${where}.delta`, 'must be in (0, 1) for the Gaussian mechanism');
    if (!(typeof lower === 'number' && typeof upper === 'number' && Number.isFinite(lower) && Number.isFinite(upper) && lower < upper)) {
      fail(`${where}.lower/upper`, 'must be finite numbers with lower < upper');
    }
    if (granularity !== undefined && !(typeof granularity === 'number' && Number.isFinite(granularity) && granularity > 0)) {
      fail(`${where}.granularity`, 'must be a number > 0');
    }
  }
}

function isBands(x: unknown): x is number[] {
  return Array.isArray(x) && x.every((b, i) => Number.isInteger(b) && b >= 0 && (i === 0 || b > (x[i - 1] as number)));
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** The transform name of a spec. */
export function transformOf(spec: TransformSpec): TransformName {
  return typeof spec === 'string' ? spec : spec.transform;
}
