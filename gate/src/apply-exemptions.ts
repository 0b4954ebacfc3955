import { matchesGlob } from './glob.js';
import type { Exemption, GateEnvironment, GateTrigger } from './model.js';

export type UnexemptedTrigger = Omit<GateTrigger, 'exemptedBy' | 'expiredExemptions'>;

/**
 * Marks each trigger with the live exemption that covers it. An exemption covers a trigger of the
 * same gate and trigger whose subject matches its glob, in its environments (all when unset), and
 * only before its expiry; expired matches are reported so reviewers see what lapsed.
 */
export function applyExemptions(
  triggers: readonly UnexemptedTrigger[],
  exemptions: readonly Exemption[],
  env: GateEnvironment,
  now: Date,
): GateTrigger[] {
  return triggers.map((trigger) => {
    if (trigger.gate === 'input') return { ...trigger, exemptedBy: null, expiredExemptions: [] };
    const matching = exemptions.filter(
      (exemption) =>
        exemption.gate === trigger.gate &&
        exemption.trigger === trigger.trigger &&
        (exemption.environments === undefined || exemption.environments.includes(env)) &&
        matchesGlob(trigger.subject, exemption.subject),
    );
    const live = matching.find((exemption) => now.getTime() < Date.parse(exemption.expires));
    const expired = matching.filter((exemption) => now.getTime() >= Date.parse(exemption.expires));
    return { ...trigger, exemptedBy: live ?? null, expiredExemptions: expired };
  });
}
