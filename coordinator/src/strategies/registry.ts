import type { StrategySettings } from '@medfed/proto';
import { fedAvg } from './fedavg.js';
import { fedAvgM } from './fedavgm.js';
import { fedProx } from './fedprox.js';
import type { Strategy } from './strategy.js';

/** Adding a strategy: one file plus one line here. */
export const STRATEGIES: Readonly<Partial<Record<StrategySettings['name'], Strategy>>> = {
  fedavg: fedAvg,
  fedprox: fedProx,
  fedavgm: fedAvgM,
};

export function strategyFor(name: StrategySettings['name']): Strategy {
  const s = STRATEGIES[name];
  if (!s) throw new Error(`unknown strategy ${name}`);
  return s;
}
