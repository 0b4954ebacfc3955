import type { ClientConfig, ParameterSpecs, ResolvedParameters, StrategyDefinition } from './definition.js';
import { StrategyError } from './errors.js';
import { fedAdagrad } from './fedadagrad.js';
import { fedAdam } from './fedadam.js';
import { fedAvg } from './fedavg.js';
import { fedAvgM } from './fedavgm.js';
import { fedMedian } from './fedmedian.js';
import { fedProx } from './fedprox.js';
import { fedTrimmedAvg } from './fedtrimmedavg.js';
import { fedYogi } from './fedyogi.js';
import { krum } from './krum.js';
import { SEMI_ASYNC_KEYS, semiAsyncOf, type SemiAsyncKey, type SemiAsyncSettings } from './semi-async.js';

/**
 * Every strategy a job may name. Adding one: a file like fedavgm.ts plus one line here; the job
 * spec's name list, the coordinator's job schema, `medfed simulate --strategy` and docs/errors.md
 * all derive from this table.
 */
export const STRATEGIES = {
  fedavg: fedAvg,
  fedprox: fedProx,
  fedavgm: fedAvgM,
  fedadam: fedAdam,
  fedyogi: fedYogi,
  fedadagrad: fedAdagrad,
  fedmedian: fedMedian,
  fedtrimmedavg: fedTrimmedAvg,
  krum,
} as const satisfies Readonly<Record<string, StrategyDefinition<any>>>;

export type StrategyName = keyof typeof STRATEGIES;

type ParametersOf<N extends StrategyName> = (typeof STRATEGIES)[N]['parameters'];

/** Every parameter name any strategy declares, and the semi-asynchronous round keys (the job spec's optional strategy fields). */
export type StrategyParameterName = { [N in StrategyName]: keyof ParametersOf<N> & string }[StrategyName] | SemiAsyncKey;

export const STRATEGY_NAMES = Object.keys(STRATEGIES) as StrategyName[];

/** Strategies registered at run time (a deployment's own, or the docs' worked example) next to the built-in ones. */
const extra = new Map<string, StrategyDefinition<ParameterSpecs>>();

export function registerStrategy(definition: StrategyDefinition<any>): void {
  if (definition.name in STRATEGIES || extra.has(definition.name)) throw new StrategyError('STRATEGY_SETTINGS_INVALID', `strategy ${definition.name} is already registered`);
  if (!/^[a-z][a-z0-9-]{1,31}$/.test(definition.name)) throw new StrategyError('STRATEGY_SETTINGS_INVALID', `strategy name ${definition.name} must be 2-32 lowercase letters, digits or dashes`);
  if (definition.combination === 'weighted-mean' && !definition.serverStep) throw new StrategyError('STRATEGY_SETTINGS_INVALID', `strategy ${definition.name} combines a weighted mean but has no serverStep`);
  if (definition.combination === 'individual' && !definition.combineIndividual) throw new StrategyError('STRATEGY_SETTINGS_INVALID', `strategy ${definition.name} needs individual updates but has no combineIndividual`);
  extra.set(definition.name, definition);
}

/** For tests: forget a strategy registered at run time. */
export function unregisterStrategy(name: string): void {
  extra.delete(name);
}

export function knownStrategyNames(): string[] {
  return [...STRATEGY_NAMES, ...extra.keys()];
}

export function strategyDefinition(name: string): StrategyDefinition<ParameterSpecs> {
  const found = (STRATEGIES as Record<string, StrategyDefinition<any>>)[name] ?? extra.get(name);
  if (!found) throw new StrategyError('STRATEGY_UNKNOWN', `unknown strategy ${JSON.stringify(name)}; known: ${knownStrategyNames().join(', ')}`);
  return found;
}

/** A job's strategy with its parameters checked and every default filled in. */
export interface ResolvedStrategy {
  readonly definition: StrategyDefinition<ParameterSpecs>;
  readonly parameters: ResolvedParameters<ParameterSpecs>;
  readonly clientConfig: ClientConfig;
  /** Semi-asynchronous rounds (closeAfter, maxStaleness), or null for synchronous ones. */
  readonly semiAsync: SemiAsyncSettings | null;
}

/**
 * Checks a job's `strategy` block: a known name, only that strategy's parameters, each a finite
 * number within range; on an encrypted job, only strategies that combine a weighted sum.
 */
export function resolveStrategy(settings: { readonly name: string } & Readonly<Record<string, unknown>>, options: { encrypted: boolean }): ResolvedStrategy {
  const definition = strategyDefinition(settings.name);
  const parameters: Record<string, number> = {};
  for (const key of Object.keys(settings)) {
    if (key !== 'name' && !(key in definition.parameters) && !(SEMI_ASYNC_KEYS as readonly string[]).includes(key)) {
      const known = Object.keys(definition.parameters);
      throw new StrategyError('STRATEGY_SETTINGS_INVALID', `strategy ${definition.name} has no parameter ${key}${known.length ? ` (it has ${known.join(', ')})` : ' (it takes none)'}`);
    }
  }
  for (const [key, spec] of Object.entries(definition.parameters)) {
    const raw = settings[key];
    const value = raw === undefined ? spec.default : raw;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < spec.min || value > spec.max || (spec.minExclusive && value === spec.min)) {
      throw new StrategyError('STRATEGY_SETTINGS_INVALID',
        `strategy ${definition.name}: ${key} must be a number in ${spec.minExclusive ? '(' : '['}${spec.min}, ${spec.max}]; got ${JSON.stringify(raw)}`);
    }
    parameters[key] = value;
  }
  if (options.encrypted && definition.combination !== 'weighted-mean') {
    throw new StrategyError('STRATEGY_NEEDS_PLAINTEXT', `strategy ${definition.name} needs every site's individual update, which an encrypted job never reveals; use it on a plaintext job, or a sum-based strategy (${STRATEGY_NAMES.filter((n) => STRATEGIES[n].combination === 'weighted-mean').join(', ')})`);
  }
  const semiAsync = semiAsyncOf(settings);
  if (semiAsync && definition.combination !== 'weighted-mean') {
    throw new StrategyError('STRATEGY_SETTINGS_INVALID', `strategy ${definition.name} needs every update of a round together; semi-asynchronous rounds (closeAfter) need a weighted-mean strategy`);
  }
  return { definition, parameters, clientConfig: definition.clientConfig?.(parameters) ?? {}, semiAsync };
}
