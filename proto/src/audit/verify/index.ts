export { AuditChainVerifier, type ChainStart, type ChainVerifierOptions, type ChainSummary, type ChainVerdict } from './chain-verifier.js';
export { LineSplitter } from './line-splitter.js';
export { describeProblem, type VerifyProblem } from './problem.js';
