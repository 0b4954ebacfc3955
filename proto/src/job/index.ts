export type { JobSpec, ModelArchitecture, TrainingSettings, StrategySettings, Standardization } from './spec.js';
export { layerShapes, parameterCount, type LayerShape } from './layout.js';
