export { runPlaintextRound, type PlaintextRoundInput, type PlaintextRoundResult, type PlaintextUpdate } from './plaintext-runner.js';
export { totalWeightOf } from './weights.js';
