import type { GateDecision } from '../model.js';

export interface DecisionSummary {
  readonly stop: number;
  readonly warn: number;
  readonly exempted: number;
}

/** The `--json` document: the decision as is, plus counts for dashboards. Stable key names. */
export function decisionToJson(decision: GateDecision): GateDecision & { readonly summary: DecisionSummary } {
  const live = decision.triggers.filter((trigger) => trigger.exemptedBy === null);
  return {
    ...decision,
    summary: {
      stop: live.filter((trigger) => trigger.action === 'stop').length,
      warn: live.filter((trigger) => trigger.action === 'warn').length,
      exempted: decision.triggers.length - live.length,
    },
  };
}
