import { SimulateError } from './errors.js';
import { bernoulli, normal, seededRandom, type SeededRandom } from './random.js';

export interface GeneratedTable {
  readonly header: string[];
  readonly rows: string[][];
}

/** The generated cohort's label column and its classes, lowest risk first. */
export const CLINICAL_LABEL = 'risk';
export const CLINICAL_CLASSES = ['low', 'medium', 'high'] as const;
export const CLINICAL_FEATURES = [
  'age', 'male', 'bmi', 'smoker', 'systolic_bp', 'diastolic_bp', 'cholesterol', 'hdl', 'glucose', 'heart_rate', 'creatinine',
] as const;

type Patient = Record<(typeof CLINICAL_FEATURES)[number], number>;

const clamp = (value: number, low: number, high: number): number => Math.min(high, Math.max(low, value));
const round = (value: number, digits: number): number => Number(value.toFixed(digits));
const relu = (value: number): number => Math.max(0, value);

/** Correlated, plausible vital signs and labs for one adult. */
function samplePatient(random: SeededRandom): Patient {
  const age = Math.round(clamp(normal(random, 55, 14), 18, 95));
  const male = bernoulli(random, 0.5);
  const bmi = round(clamp(normal(random, 27 + 0.03 * (age - 55), 4.5), 15, 55), 1);
  const smoker = bernoulli(random, clamp(0.24 - 0.002 * (age - 55), 0.05, 0.4));
  const systolic = Math.round(clamp(115 + 0.5 * (age - 50) + 0.9 * (bmi - 27) + 5 * smoker + normal(random, 0, 12), 85, 220));
  const diastolic = Math.round(clamp(0.45 * systolic + 18 + normal(random, 0, 7), 45, 130));
  const cholesterol = Math.round(clamp(normal(random, 195 + 0.4 * (age - 55), 35), 110, 340));
  const hdl = Math.round(clamp(normal(random, 52 - 6 * male - 0.6 * (bmi - 27) - 4 * smoker, 11), 20, 100));
  const diabetic = bernoulli(random, 1 / (1 + Math.exp(-((bmi - 32) / 3 + (age - 60) / 20 - 1.5))));
  const glucose = Math.round(clamp(normal(random, 96 + 1.5 * relu(bmi - 30), 10) + diabetic * normal(random, 60, 25), 60, 380));
  const heartRate = Math.round(clamp(normal(random, 73 + 3 * smoker, 10), 45, 130));
  const creatinine = round(clamp(Math.exp(normal(random, Math.log(0.85 + 0.15 * male), 0.2)) + 0.008 * relu(age - 60), 0.4, 6), 2);
  return { age, male, bmi, smoker, systolic_bp: systolic, diastolic_bp: diastolic, cholesterol, hdl, glucose, heart_rate: heartRate, creatinine };
}

/**
 * Latent cardiovascular risk: a nonlinear mix (age-smoking interaction, blood-pressure and glucose
 * thresholds, a U-shaped BMI effect, the cholesterol/HDL ratio, kidney function) that a hidden
 * layer can learn and a linear model only approximates.
 */
function riskScore(p: Patient): number {
  return (
    0.05 * (p.age - 55) +
    p.smoker * (p.age > 50 ? 1.4 : 0.3) +
    0.04 * relu(p.systolic_bp - 135) +
    1.2 * (p.glucose > 126 ? 1 : 0) +
    0.13 * Math.abs(p.bmi - 25) +
    1.6 * Math.log(p.cholesterol / p.hdl) +
    2.0 * relu(p.creatinine - 1.2) +
    0.3 * p.male
  );
}

const RISK_THRESHOLDS = [2.4, 3.6] as const;
const RISK_NOISE = 0.25;

/**
 * A synthetic clinical cohort of `n` rows: a unique `patient_id`, eleven numeric features and a
 * three-class `risk` label (low/medium/high) from the noisy latent score. Same seed, same table.
 */
export function generateClinicalDataset(n: number, seed: number): GeneratedTable {
  if (!Number.isSafeInteger(n) || n < 1) throw new SimulateError('SIMULATE_ARGUMENT_INVALID', `Row count must be a positive integer, got ${n}.`);
  if (!Number.isSafeInteger(seed)) throw new SimulateError('SIMULATE_ARGUMENT_INVALID', `Seed must be a safe integer, got ${seed}.`);
  const random = seededRandom(seed);
  const header = ['patient_id', ...CLINICAL_FEATURES, CLINICAL_LABEL];
  const rows: string[][] = [];
  for (let i = 0; i < n; i++) {
    const patient = samplePatient(random);
    const score = riskScore(patient) + normal(random, 0, RISK_NOISE);
    const risk = CLINICAL_CLASSES[score < RISK_THRESHOLDS[0] ? 0 : score < RISK_THRESHOLDS[1] ? 1 : 2];
    const id = `P${String(i + 1).padStart(6, '0')}`;
    rows.push([id, ...CLINICAL_FEATURES.map((name) => String(patient[name])), risk]);
  }
  return { header, rows };
}
