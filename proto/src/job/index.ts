export type { JobSpec, EncryptionSettings, EncryptedSettingsForJob, ModelArchitecture, TrainingSettings, StrategySettings, Standardization } from './spec.js';
export { layerShapes, parameterCount, type LayerShape } from './layout.js';
export { standardizationOf, ExactStatisticsSum } from './standardization.js';
