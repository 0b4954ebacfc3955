export { computeEpsilon, type EpsilonQuery } from './compute-epsilon.js';
export { computeRdp, rdpOfOneStep, type SampledGaussianSettings } from './sampled-gaussian-rdp.js';
export { rdpToEpsilon, type EpsilonAtOrder } from './rdp-to-epsilon.js';
export { addRdp, composeRdp, emptyRdp, isRdpVector, rdpVectorEpsilon, roundRdp, type RdpVector } from './rdp-vector.js';
export { DEFAULT_RDP_ORDERS } from './orders.js';
