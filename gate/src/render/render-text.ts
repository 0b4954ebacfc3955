import type { GateDecision, GateTrigger } from '../model.js';
import { decisionToJson } from './decision-json.js';

const ORDER = { stop: 0, warn: 1 } as const;

function line(trigger: GateTrigger): string {
  const head = `${trigger.gate}/${trigger.trigger}`;
  if (trigger.exemptedBy) {
    const { approver, expires, reason } = trigger.exemptedBy;
    return `  EXEMPT ${head}: ${trigger.message}\n         exempted by ${approver} until ${expires}: ${reason}`;
  }
  const lapsed = trigger.expiredExemptions.map((exemption) => `\n         exemption by ${exemption.approver} expired ${exemption.expires}`).join('');
  const stricter = trigger.stopsIn?.length ? `\n         a warning here only: ${trigger.stopsIn.join(' and ')} stop on this` : '';
  return `  ${trigger.action.toUpperCase().padEnd(6)} ${head}: ${trigger.message}${lapsed}${stricter}`;
}

/** Human-readable report: one line per trigger, strongest first, then the decision. */
export function renderDecisionText(decision: GateDecision): string {
  const { summary } = decisionToJson(decision);
  const triggers = [...decision.triggers].sort(
    (a, b) => Number(a.exemptedBy !== null) - Number(b.exemptedBy !== null) || ORDER[a.action] - ORDER[b.action],
  );
  const policy = decision.policy ? `${decision.policy.name} (${decision.policy.source})` : 'none (unreadable)';
  const judged = decision.subject
    ? `subject:  ${decision.subject}`
    : `artifact: ${decision.artifactDigest ?? 'unreadable'}${decision.artifactKind ? ` (${decision.artifactKind})` : ''}`;
  return [
    judged,
    ...(decision.imageDigests.length > 0 ? [`image:    ${decision.imageDigests.join(', ')}`] : []),
    `policy:   ${policy}`,
    `env:      ${decision.env}`,
    ...(triggers.length > 0 ? ['triggers:', ...triggers.map(line)] : ['triggers: none']),
    `decision: ${decision.decision.toUpperCase()} (${summary.stop} stop, ${summary.warn} warn, ${summary.exempted} exempted)`,
    '',
  ].join('\n');
}
