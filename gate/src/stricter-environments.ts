import type { UnexemptedTrigger } from './apply-exemptions.js';
import type { GateContext } from './gates/gate-context.js';
import type { GateEnvironment } from './model.js';
import type { GatePolicy, PolicyRule } from './policy/gate-policy.js';
import { runRules } from './run-rules.js';

const STRICTER: Readonly<Record<GateEnvironment, readonly GateEnvironment[]>> = { dev: ['staging', 'prod'], staging: ['prod'], prod: [] };

/**
 * Marks each warning with the stricter environments whose rules, in the same policy, stop on the
 * same finding, so a warning in dev says plainly that staging and prod would refuse the artifact.
 */
export function markStricterStops(
  triggers: readonly UnexemptedTrigger[],
  policy: GatePolicy,
  env: GateEnvironment,
  context: GateContext,
  include?: (rule: PolicyRule) => boolean,
): UnexemptedTrigger[] {
  const stoppingIn = STRICTER[env]
    .filter((stricter) => policy.environments[stricter])
    .map((stricter) => ({ stricter, stops: new Set(runRules(policy, stricter, context, include).filter((trigger) => trigger.action === 'stop').map(keyOf)) }));
  return triggers.map((trigger) => {
    if (trigger.action !== 'warn' || trigger.stopsIn) return trigger;
    const stopsIn = stoppingIn.filter(({ stops }) => stops.has(keyOf(trigger))).map(({ stricter }) => stricter);
    return stopsIn.length > 0 ? { ...trigger, stopsIn } : trigger;
  });
}

function keyOf(trigger: UnexemptedTrigger): string {
  return `${trigger.gate}|${trigger.trigger}|${trigger.subject}|${trigger.message}`;
}
