export { MASKING_ERRORS, MaskingError, type MaskingErrorCode } from './errors.js';
export {
  SENSITIVITY_CLASSES,
  FIELD_TYPES,
  TRANSFORMS,
  GENERALIZATIONS,
  parseSchema,
  fieldByName,
  type SensitivityClass,
  type FieldType,
  type TransformName,
  type Generalization,
  type FieldSchema,
  type DatasetSchema,
} from './schema.js';
export { SAFE_HARBOR_RULES, classifyFieldName, normaliseFieldName, type IdentifierRule } from './safe-harbor.js';
export { inferSchema, type InferredSchema, type InferOptions } from './infer-schema.js';
export { meaningOfName, type NameMeaning } from './field-meaning.js';
export { looksLikeBirthDates, BIRTH_DATE_HEURISTIC } from './birth-date-values.js';
export { withSafeHarborMeaning } from './safe-harbor-meaning.js';
export {
  DEFAULT_SUPPRESSION_LIMIT,
  type KAnonymityOutcome,
  type KAnonymitySummary,
  type InformationLoss,
} from './anonymity/anonymise.js';
export { ROLES, ROLE_DEFAULTS, DEIDENTIFIED_ROLES, parseRole, type Role } from './roles.js';
export {
  DEFAULT_MIN_CELL_SIZE,
  defaultSitePolicy,
  loadSitePolicy,
  parseSitePolicy,
  transformOf,
  type SitePolicy,
  type RolePolicy,
  type TransformSpec,
  type NoiseSpec,
  type GeneralizeSpec,
} from './policy.js';
export { planMasking, assertDeidentified, type FieldPlan, type MaskPlan, type PlanRequest } from './plan.js';
export { maskRecords, type MaskContext, type MaskResult, type MaskedColumn, type MaskSummary, type NoiseMode } from './mask-records.js';
export { checkQuery, runMaskedQuery, type MaskQuery, type QueryResult } from './check-query.js';
export { suppressSmallCells, type CountCell, type ReleasedCell } from './small-cells.js';
export { DEFAULT_OPT_OUT_FILE, loadOptOutList, parseOptOutList, excludeOptedOut } from './opt-out.js';
export { PSEUDONYM_KEY_FILE, loadOrCreatePseudonymKey } from './pseudonym-key.js';
export { readCsv, writeCsv, type CsvTable } from './csv.js';
export { NOISE_PREVIEW, SUPPRESSED, type Cell } from './cells.js';
export { safeHarborAge, ageBand, AGE_TOP_LABEL } from './transforms/age.js';
export { dateToYear, dateToMonth, birthYear, parseDate, parseDateYear, topBirthYear, topBirthYearLabel, type DateParts } from './transforms/date.js';
export { zip3, RESTRICTED_ZIP3, RESTRICTED_ZIP3_2000, RESTRICTED_ZIP3_2010 } from './transforms/zip.js';
export { zipState } from './transforms/zip-state.js';
export { numericBin } from './transforms/numeric-bin.js';
export { pseudonymize, studyKey } from './transforms/pseudonym.js';
