export { cryptoByteSource, defaultByteSource, type ByteSource } from './byte-source.js';
export { rational, rationalFromNumber, mulRational, divRational, isqrt, type Rational } from './rational.js';
export { uniformBelow, bernoulliRational, uniform53 } from './uniform.js';
export { bernoulliExpMinus } from './bernoulli-exp.js';
export { sampleDiscreteLaplace, discreteLaplace, discreteLaplaceVariance } from './discrete-laplace.js';
export { sampleDiscreteGaussian, discreteGaussian, discreteGaussianVariance } from './discrete-gaussian.js';
export { gaussian } from './gaussian.js';
export { laplaceScale, gaussianVariance } from './calibrate.js';
export { toGrid, fromGrid } from './fixed-point.js';
