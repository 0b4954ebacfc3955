/**
 * The hardening every medfed workload must carry, as checks over rendered Kubernetes objects.
 * Returns violations as `Kind/name: container x: problem`, so a test can show all of them at once.
 */

type Json = Record<string, unknown>;

const WORKLOAD_POD_SPEC: Readonly<Record<string, (object: Json) => Json | undefined>> = {
  Deployment: (object) => dig(object, 'spec', 'template', 'spec'),
  StatefulSet: (object) => dig(object, 'spec', 'template', 'spec'),
  DaemonSet: (object) => dig(object, 'spec', 'template', 'spec'),
  ReplicaSet: (object) => dig(object, 'spec', 'template', 'spec'),
  Job: (object) => dig(object, 'spec', 'template', 'spec'),
  CronJob: (object) => dig(object, 'spec', 'jobTemplate', 'spec', 'template', 'spec'),
  Pod: (object) => dig(object, 'spec'),
};

/** Environment variable names whose values must come from a Secret. */
const SECRET_LIKE_ENV = /(PASSWORD|SECRET|TOKEN|CREDENTIAL|PRIVATE|DATABASE_URL|_KEY$)/i;

export function isWorkload(object: Json): boolean {
  return Object.hasOwn(WORKLOAD_POD_SPEC, String(object.kind));
}

export function podSpecOf(object: Json): Json | undefined {
  return WORKLOAD_POD_SPEC[String(object.kind)]?.(object);
}

export interface HardeningOptions {
  /** Localhost seccomp profiles that exist in deploy/seccomp, allowed in place of RuntimeDefault. */
  readonly localhostSeccompProfiles: readonly string[];
}

export function hardeningViolations(object: Json, options: HardeningOptions): string[] {
  const name = `${String(object.kind)}/${String(dig(object, 'metadata', 'name'))}`;
  const pod = podSpecOf(object);
  if (!pod) return [`${name}: no pod template`];
  const problems: string[] = [];
  const podProblem = (problem: string): void => void problems.push(`${name}: pod: ${problem}`);
  const podSecurity = (pod.securityContext ?? {}) as Json;

  if (pod.automountServiceAccountToken !== false) podProblem('automountServiceAccountToken must be false');
  if (podSecurity.runAsNonRoot !== true) podProblem('securityContext.runAsNonRoot must be true');
  if (pod.hostNetwork === true || pod.hostPID === true || pod.hostIPC === true) podProblem('must not share host namespaces');
  problems.push(...seccompProblems(podSecurity.seccompProfile, `${name}: pod`, options));
  for (const volume of (pod.volumes ?? []) as Json[]) {
    if (volume.hostPath) podProblem(`volume ${String(volume.name)} must not be a hostPath`);
  }

  const containers = [...((pod.initContainers ?? []) as Json[]), ...((pod.containers ?? []) as Json[])];
  if (containers.length === 0) podProblem('no containers');
  for (const container of containers) {
    const where = `${name}: container ${String(container.name)}`;
    const problem = (text: string): void => void problems.push(`${where}: ${text}`);
    const security = (container.securityContext ?? {}) as Json;
    if (security.runAsNonRoot !== true && podSecurity.runAsNonRoot !== true) problem('runAsNonRoot must be true');
    if (security.runAsUser === 0) problem('runAsUser must not be 0');
    if (security.readOnlyRootFilesystem !== true) problem('readOnlyRootFilesystem must be true');
    if (security.allowPrivilegeEscalation !== false) problem('allowPrivilegeEscalation must be false');
    if (security.privileged === true) problem('must not be privileged');
    const capabilities = (security.capabilities ?? {}) as { drop?: string[]; add?: string[] };
    if (!capabilities.drop?.includes('ALL')) problem('capabilities.drop must include ALL');
    if ((capabilities.add ?? []).length > 0) problem(`must add no capabilities (adds ${capabilities.add?.join(', ')})`);
    if (security.seccompProfile !== undefined || podSecurity.seccompProfile === undefined) {
      problems.push(...seccompProblems(security.seccompProfile, where, options));
    }
    const resources = (container.resources ?? {}) as { limits?: Json; requests?: Json };
    for (const key of ['cpu', 'memory']) {
      if (resources.limits?.[key] === undefined) problem(`resources.limits.${key} is required`);
      if (resources.requests?.[key] === undefined) problem(`resources.requests.${key} is required`);
    }
    if (!/@sha256:[0-9a-f]{64}$/.test(String(container.image))) problem(`image ${String(container.image)} must be pinned by digest`);
    for (const variable of (container.env ?? []) as Json[]) {
      if (SECRET_LIKE_ENV.test(String(variable.name)) && dig(variable, 'valueFrom', 'secretKeyRef') === undefined) {
        problem(`env ${String(variable.name)} must come from a Secret (valueFrom.secretKeyRef)`);
      }
    }
    if ((container.envFrom as Json[] | undefined)?.some((source) => source.configMapRef)) problem('envFrom a ConfigMap could carry secrets; use Secrets');
  }
  return problems;
}

function seccompProblems(profile: unknown, where: string, options: HardeningOptions): string[] {
  const seccomp = profile as { type?: string; localhostProfile?: string } | undefined;
  if (seccomp?.type === 'RuntimeDefault') return [];
  if (seccomp?.type === 'Localhost') {
    const file = seccomp.localhostProfile?.split('/').pop() ?? '';
    return options.localhostSeccompProfiles.includes(file) ? [] : [`${where}: Localhost seccomp profile ${seccomp.localhostProfile} is not shipped in deploy/seccomp`];
  }
  return [`${where}: seccompProfile must be RuntimeDefault (or a Localhost profile shipped in deploy/seccomp)`];
}

export function dig(value: unknown, ...path: string[]): Json | undefined {
  let current: unknown = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Json)[key];
  }
  return current as Json | undefined;
}
