/**
 * Which coordinator replica to call after NOT_LEADER (or after the current one did not answer: no hint). With no replicas configured the agent stays
 * on its address (a Kubernetes Service in front of the replicas routes to the ready leader). With
 * replicas: the hinted leader when it is one of them (a hint naming anything else is ignored, so a
 * refusal cannot send the agent to an address its operator did not list), else the next replica
 * after the current one. Null: stay.
 */
export function replicaAfterNotLeader(replicas: readonly string[], current: string, hint: string | undefined): string | null {
  if (replicas.length === 0) return null;
  if (hint) return replicas.includes(hint) && hint !== current ? hint : null;
  const next = replicas[(replicas.indexOf(current) + 1) % replicas.length]!;
  return next === current ? null : next;
}
