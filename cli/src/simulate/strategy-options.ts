import { knownStrategyNames, resolveStrategy, StrategyError, strategyDefinition, type ResolvedStrategy, type StrategySettings } from '@medfed/proto';

/**
 * What `medfed simulate` takes about the strategy: `--strategy`, `--server-lr`, `--strategy-param
 * KEY=VALUE` (repeatable), and semi-asynchronous rounds: `--close-after K`, `--max-staleness S`.
 */
export interface StrategyOptions {
  readonly strategy: string;
  readonly serverLr?: string | number | undefined;
  readonly strategyParam?: readonly string[] | undefined;
  readonly closeAfter?: string | number | undefined;
  readonly maxStaleness?: string | number | undefined;
}

/** The job's strategy block and what it resolves to (every default filled in). */
export interface ChosenStrategy {
  readonly settings: StrategySettings;
  readonly resolved: ResolvedStrategy;
}

const SERVER_LR = 'serverLearningRate';

/** A number where the text is one, else the text itself, so that resolveStrategy's refusal quotes what was typed. */
function numberOrText(text: string): number | string {
  const value = text.trim() === '' ? Number.NaN : Number(text);
  return Number.isFinite(value) ? value : text;
}

/** Commander's collector for the repeatable `--strategy-param`. */
export function collectStrategyParam(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * The strategy block of a simulated job, checked by resolveStrategy before anything starts:
 * a known name, only that strategy's parameters, each in range, and (encrypted) a sum-based one.
 */
export function chooseStrategy(options: StrategyOptions, encrypted: boolean): ChosenStrategy {
  const definition = strategyDefinition(options.strategy);
  const settings: Record<string, unknown> = { name: definition.name };
  for (const pair of options.strategyParam ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new StrategyError('STRATEGY_SETTINGS_INVALID', `--strategy-param takes KEY=VALUE; got ${JSON.stringify(pair)}`);
    const key = pair.slice(0, eq).trim();
    if (key in settings) throw new StrategyError('STRATEGY_SETTINGS_INVALID', `--strategy-param ${key} is given twice`);
    settings[key] = numberOrText(pair.slice(eq + 1));
  }
  if (options.serverLr !== undefined) {
    if (!(SERVER_LR in definition.parameters)) {
      throw new StrategyError('STRATEGY_SETTINGS_INVALID',
        `--server-lr: strategy ${definition.name} has no server learning rate (strategies with one: ${serverLrStrategies().join(', ')})`);
    }
    if (SERVER_LR in settings) throw new StrategyError('STRATEGY_SETTINGS_INVALID', `give the server learning rate once: --server-lr or --strategy-param ${SERVER_LR}=…`);
    settings[SERVER_LR] = typeof options.serverLr === 'number' ? options.serverLr : numberOrText(options.serverLr);
  }
  if (options.maxStaleness !== undefined && options.closeAfter === undefined) {
    throw new StrategyError('STRATEGY_SETTINGS_INVALID', '--max-staleness applies to semi-asynchronous rounds only: give --close-after K too');
  }
  for (const [flag, key, value] of [['--close-after', 'closeAfter', options.closeAfter], ['--max-staleness', 'maxStaleness', options.maxStaleness]] as const) {
    if (value === undefined) continue;
    if (key in settings) throw new StrategyError('STRATEGY_SETTINGS_INVALID', `give ${key} once: ${flag} or --strategy-param ${key}=…`);
    settings[key] = typeof value === 'number' ? value : numberOrText(value);
  }
  const resolved = resolveStrategy(settings as { name: string } & Record<string, unknown>, { encrypted });
  return { settings: settings as unknown as StrategySettings, resolved };
}

/** The registered strategies that take a server learning rate. */
export function serverLrStrategies(): string[] {
  return knownStrategyNames().filter((n) => SERVER_LR in strategyDefinition(n).parameters);
}
