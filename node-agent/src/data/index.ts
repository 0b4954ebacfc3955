export { loadDataset, type LoadDatasetOptions } from './load-dataset.js';
export { optOutPath, readOptOut, optOutVersion, patientIdColumnOf, excludeOptedOutRows, type OptOut } from './opt-out.js';
export { loadSiteRecords } from './site-records.js';
export { datasetFromRows, type DatasetOptions } from './dataset-from-rows.js';
export { readSchemaFile, validateSchema } from './schema-file.js';
export { prepareForJob } from './prepare-for-job.js';
export { checkDataForJob, type DataFitReport, type JobFitOptions } from './job-fit.js';
export { DEFAULT_MAX_DROPPED_SHARE } from './dropped-rows.js';
export { localFeatureStatistics } from './feature-statistics.js';
export { standardizationFromSums } from './standardization.js';
export { describeClasses } from './describe-classes.js';
export { subsetDataset } from './subset-dataset.js';
export { isIdentifierName } from './identifiers.js';
export { MISSING_TOKENS } from './cells.js';
export { DATA_ERRORS, DataError, type DataErrorCode } from './errors.js';
export type {
  LocalDataset,
  DatasetColumn,
  NumericColumn,
  TextColumn,
  WithheldColumn,
  ColumnType,
  ColumnRole,
  FieldSpec,
  DatasetSchema,
  LabeledMatrix,
  PreparedData,
  DroppedColumnCount,
  UnparsableCells,
} from './types.js';
