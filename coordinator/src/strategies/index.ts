export { runPlaintextRound, type PlaintextRoundInput, type PlaintextRoundResult, type PlaintextUpdate } from './plaintext-runner.js';
export { effectiveWeight, totalWeightOf, type WeightedContributor } from './weights.js';
