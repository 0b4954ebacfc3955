import type { Decision, GateTrigger } from './model.js';

/** `stop` if any unexempted trigger says stop, else `warn` if any says warn, else `allow`. */
export function decide(triggers: readonly GateTrigger[]): Decision {
  const live = triggers.filter((trigger) => trigger.exemptedBy === null);
  if (live.some((trigger) => trigger.action === 'stop')) return 'stop';
  if (live.some((trigger) => trigger.action === 'warn')) return 'warn';
  return 'allow';
}

/** The exit status `medfed gate evaluate` publishes for each decision. */
export const DECISION_EXIT_CODE = { allow: 0, warn: 1, stop: 2 } as const satisfies Record<Decision, number>;
