import type { GateContext } from './gates/gate-context.js';
import { TRIGGER_HANDLERS } from './gates/trigger-handlers.js';
import type { GateEnvironment } from './model.js';
import type { UnexemptedTrigger } from './apply-exemptions.js';
import type { GatePolicy, PolicyRule } from './policy/gate-policy.js';

const ACTION_STRENGTH = { warn: 1, stop: 2 } as const;

/**
 * Runs the environment's rules over the context. When several rules fire on the same finding
 * (say a warn at MEDIUM and a stop at HIGH) the strongest action is kept, once.
 */
export function runRules(policy: GatePolicy, env: GateEnvironment, context: GateContext, include: (rule: PolicyRule) => boolean = () => true): UnexemptedTrigger[] {
  const fired = new Map<string, UnexemptedTrigger>();
  for (const rule of policy.environments[env]?.rules ?? []) {
    if (!include(rule)) continue;
    const handler = TRIGGER_HANDLERS[rule.gate][rule.trigger];
    if (!handler) continue; // unreachable: the policy parser checked the trigger against the same table
    for (const candidate of handler(context, rule.params)) {
      const key = `${rule.gate}|${rule.trigger}|${candidate.subject}|${candidate.message}`;
      const previous = fired.get(key);
      if (previous && ACTION_STRENGTH[previous.action] >= ACTION_STRENGTH[rule.action]) continue;
      fired.set(key, { gate: rule.gate, trigger: rule.trigger, action: rule.action, ...candidate });
    }
  }
  return [...fired.values()];
}
