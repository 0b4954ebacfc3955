import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { ConfigMap, PersistentVolumeClaim, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { dig, hardeningViolations, isWorkload, podSpecOf } from './workload-hardening.js';
import { requireBinary } from '../../../test/support/require-binary.js';

const DEPLOY = fileURLToPath(new URL('../../../deploy/', import.meta.url));
const TARGETS = ['k8s/base', 'k8s/overlays/staging', 'k8s/overlays/prod'] as const;

type Json = Record<string, unknown>;

/** Every kind the manifests may use, with the model that validates it against the Kubernetes schema. */
const MODELS: Readonly<Record<string, new (data: never) => { validate(): void }>> = {
  'v1/ConfigMap': ConfigMap,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

const rendered = new Map<string, Promise<Json[]>>();

/** Renders with kubectl (once per target); a missing kubectl fails the test with the fix instead of skipping it. */
function kustomize(target: string): Promise<Json[]> {
  const cached = rendered.get(target) ?? render(target);
  rendered.set(target, cached);
  return cached.then((objects) => structuredClone(objects));
}

function render(target: string): Promise<Json[]> {
  return new Promise((resolve, reject) => {
    // kubectl renders deploy/k8s (`kubectl kustomize`); a host without it fails here, naming the package.
    execFile(requireBinary('kubectl', 'kubernetes-client'), ['kustomize', `${DEPLOY}${target}`], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`kubectl kustomize ${target} failed: ${stderr || error.message}`));
      } else {
        resolve(parseAllDocuments(stdout).map((document) => document.toJS() as Json));
      }
    });
  });
}

async function shippedSeccompProfiles(): Promise<string[]> {
  return (await readdir(`${DEPLOY}seccomp`)).filter((name) => name.endsWith('.json'));
}

describe.each(TARGETS)('kubectl kustomize deploy/%s', (target) => {
  it('renders, and every object validates against its Kubernetes schema', async () => {
    const objects = await kustomize(target);
    expect(objects.length).toBeGreaterThan(5);
    for (const object of objects) {
      const key = `${String(object.apiVersion)}/${String(object.kind)}`;
      const Model = MODELS[key];
      if (!Model) throw new Error(`no schema model registered for ${key}; add it to MODELS`);
      expect(() => new Model(object as never).validate()).not.toThrow();
    }
  });

  it('every workload carries the hardening fields (every pod and container)', async () => {
    const objects = await kustomize(target);
    const workloads = objects.filter(isWorkload);
    expect(workloads.map((object) => dig(object, 'metadata', 'name'))).toEqual(expect.arrayContaining(['medfed-coordinator', 'medfed-agent']));
    const localhostSeccompProfiles = await shippedSeccompProfiles();
    for (const workload of workloads) {
      const problems = hardeningViolations(workload, { localhostSeccompProfiles });
      // Images are pinned only in overlays; the base leaves the name for kustomize to replace.
      const relevant = target === 'k8s/base' ? problems.filter((problem) => !problem.includes('pinned by digest')) : problems;
      expect(relevant).toEqual([]);
    }
  });

  it('the service accounts do not mount API tokens', async () => {
    const accounts = (await kustomize(target)).filter((object) => object.kind === 'ServiceAccount');
    expect(accounts.length).toBe(2);
    for (const account of accounts) expect(account.automountServiceAccountToken).toBe(false);
  });

  it('the coordinator: REST 8443 and gRPC 9443 over TLS, DATABASE_URL from a Secret', async () => {
    const coordinator = (await kustomize(target)).find((object) => object.kind === 'Deployment' && String(dig(object, 'metadata', 'name')) === 'medfed-coordinator') as Json;
    const container = (podSpecOf(coordinator)?.containers as Json[])[0] as Json;
    expect((container.ports as Json[]).map((port) => port.containerPort).sort()).toEqual([8443, 9443]);
    // The coordinator reads tls.cert and tls.key (flags or MEDFED_TLS_CERT / MEDFED_TLS_KEY); production refuses to start without them.
    expect((container.args as string[]).join(' ')).toMatch(/^coordinator start .*--tls-cert \/etc\/medfed\/tls\/tls\.crt --tls-key \/etc\/medfed\/tls\/tls\.key/);
    const tlsMount = (container.volumeMounts as Json[]).find((mount) => mount.mountPath === '/etc/medfed/tls') as Json;
    const tlsVolume = ((podSpecOf(coordinator)?.volumes ?? []) as Json[]).find((volume) => volume.name === tlsMount.name);
    expect(dig(tlsVolume, 'secret', 'secretName')).toBe('medfed-coordinator-tls');
    const databaseUrl = (container.env as Json[]).find((variable) => variable.name === 'DATABASE_URL');
    expect(dig(databaseUrl, 'valueFrom', 'secretKeyRef')).toMatchObject({ name: 'medfed-coordinator-database', key: 'url' });
  });

  it('the coordinator: two replicas on one database; only the leader is ready, both are alive', async () => {
    const objects = await kustomize(target);
    const coordinator = objects.find((object) => object.kind === 'Deployment' && String(dig(object, 'metadata', 'name')) === 'medfed-coordinator') as Json;
    expect(dig(coordinator, 'spec', 'replicas')).toBe(2);
    // A new pod cannot become ready while an old leader holds the lease: a rolling update would stall.
    expect(dig(coordinator, 'spec', 'strategy', 'type')).toBe('Recreate');
    const pod = podSpecOf(coordinator) as Json;
    const container = (pod.containers as Json[])[0] as Json;
    // Readiness: 503 on a standby (NOT_LEADER) and on a leader without its database, so the Service routes to the leader only.
    expect(dig(container, 'readinessProbe', 'httpGet')).toMatchObject({ path: '/readyz', port: 'https', scheme: 'HTTPS' });
    expect(Number(dig(container, 'readinessProbe', 'periodSeconds'))).toBeLessThanOrEqual(5);
    // Liveness and start-up: /healthz, which a standby answers too; gRPC health is NOT_SERVING on a standby and would restart it.
    for (const probe of ['livenessProbe', 'startupProbe']) {
      expect(dig(container, probe, 'httpGet')).toMatchObject({ path: '/healthz', port: 'https', scheme: 'HTTPS' });
      expect(dig(container, probe, 'exec')).toBeUndefined();
    }
    // No shared ReadWriteOnce volume: the data directory is per pod (payloads and keys live in PostgreSQL).
    const dataMount = (container.volumeMounts as Json[]).find((mount) => mount.mountPath === '/var/lib/medfed') as Json;
    const dataVolume = ((pod.volumes ?? []) as Json[]).find((volume) => volume.name === dataMount.name) as Json;
    expect(dataVolume.emptyDir).toBeDefined();
    expect(dataVolume.persistentVolumeClaim).toBeUndefined();
    expect(objects.filter((object) => object.kind === 'PersistentVolumeClaim').map((claim) => dig(claim, 'metadata', 'name'))).toEqual(['medfed-agent-state']);
    // The leader's address for standbys to name (ha.advertise.*), from the pod's IP.
    const env = Object.fromEntries((container.env as Json[]).map((variable) => [String(variable.name), variable]));
    expect(dig(env.POD_IP, 'valueFrom', 'fieldRef', 'fieldPath')).toBe('status.podIP');
    expect(env.MEDFED_ADVERTISE_GRPC?.value).toBe('$(POD_IP):9443');
    expect(env.MEDFED_ADVERTISE_REST?.value).toBe('https://$(POD_IP):8443');
    expect((container.env as Json[]).findIndex((variable) => variable.name === 'POD_IP'))
      .toBeLessThan((container.env as Json[]).findIndex((variable) => variable.name === 'MEDFED_ADVERTISE_GRPC'));
    // The Service selects both pods; readiness decides which one gets traffic.
    const service = objects.find((object) => object.kind === 'Service' && String(dig(object, 'metadata', 'name')) === 'medfed-coordinator') as Json;
    expect(dig(service, 'spec', 'selector')).toEqual(dig(coordinator, 'spec', 'selector', 'matchLabels'));
    expect(dig(service, 'spec', 'publishNotReadyAddresses')).not.toBe(true);
  });

  it('network policy: default deny; agent egress only to the coordinator and DNS; coordinator ingress only on its ports', async () => {
    const policies = Object.fromEntries((await kustomize(target)).filter((object) => object.kind === 'NetworkPolicy').map((policy) => [dig(policy, 'metadata', 'name'), policy.spec as Json]));
    expect(policies['default-deny-all']).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });

    const agent = policies['medfed-agent'] as Json;
    expect(agent.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(agent.ingress ?? []).toEqual([]);
    const agentEgress = agent.egress as Json[];
    expect(agentEgress).toHaveLength(2);
    const dns = agentEgress.find((rule) => (rule.ports as Json[]).every((port) => port.port === 53)) as Json;
    expect(dig(dns, 'to')).toEqual([expect.objectContaining({ podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } })]);
    const toCoordinator = agentEgress.find((rule) => rule !== dns) as Json;
    expect(toCoordinator.ports).toEqual([{ port: 9443, protocol: 'TCP' }]);
    const peer = (toCoordinator.to as Json[])[0] as Json;
    expect(peer.podSelector ?? peer.ipBlock).toBeDefined();
    if (peer.ipBlock) expect(dig(peer, 'ipBlock', 'cidr')).toMatch(/\/32$/);
    else expect(peer.podSelector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'medfed-coordinator' } });

    const coordinator = policies['medfed-coordinator'] as Json;
    expect((coordinator.ingress as Json[]).flatMap((rule) => (rule.ports as Json[]).map((port) => port.port)).sort()).toEqual([8443, 9443]);
  });

  it('secrets reach pods only from Secret objects; none are defined in the manifests', async () => {
    const objects = await kustomize(target);
    expect(objects.filter((object) => object.kind === 'Secret')).toEqual([]);
    for (const workload of objects.filter(isWorkload)) {
      const volumes = (podSpecOf(workload)?.volumes ?? []) as Json[];
      for (const volume of volumes.filter((candidate) => /tls|credential|secret/i.test(String(candidate.name)))) {
        expect(volume.secret).toBeDefined();
      }
    }
  });
});

describe('the checks themselves can fail', () => {
  it('schema validation rejects a malformed object', () => {
    expect(() => new Deployment({ metadata: { name: 'x' }, spec: { replicas: 'one', selector: {}, template: {} } } as never).validate()).toThrow();
  });
});

describe('the hardening checks catch weakened manifests', () => {
  it('reports each weakened field', async () => {
    const [coordinator] = (await kustomize('k8s/overlays/prod')).filter((object) => object.kind === 'Deployment');
    const weakened = structuredClone(coordinator) as Json;
    const pod = podSpecOf(weakened) as Json;
    const container = (pod.containers as Json[])[0] as Json;
    pod.automountServiceAccountToken = true;
    container.securityContext = { ...(container.securityContext as Json), allowPrivilegeEscalation: true, readOnlyRootFilesystem: false, capabilities: { add: ['NET_ADMIN'] } };
    container.image = 'registry.hospital.example/medfed/coordinator:latest';
    (container.env as Json[]).push({ name: 'DB_PASSWORD', value: 'literal' });
    delete (container.resources as Json).limits;
    const problems = hardeningViolations(weakened, { localhostSeccompProfiles: await shippedSeccompProfiles() }).join('\n');
    for (const expected of [
      'automountServiceAccountToken',
      'allowPrivilegeEscalation',
      'readOnlyRootFilesystem',
      'capabilities.drop must include ALL',
      'must add no capabilities',
      'pinned by digest',
      'env DB_PASSWORD must come from a Secret',
      'resources.limits.cpu',
    ]) {
      expect(problems).toContain(expected);
    }
  });
});

describe('the agent seccomp profile (deploy/seccomp/medfed-agent-bwrap.json)', () => {
  it('denies by default, allows what bubblewrap needs, and nothing from the risky kernel interfaces', async () => {
    const profile = JSON.parse(await readFile(`${DEPLOY}seccomp/medfed-agent-bwrap.json`, 'utf8')) as {
      defaultAction: string;
      syscalls: Array<{ names: string[]; action: string; errnoRet?: number }>;
    };
    expect(profile.defaultAction).toBe('SCMP_ACT_ERRNO');
    const allowed = new Set(profile.syscalls.filter((rule) => rule.action === 'SCMP_ACT_ALLOW').flatMap((rule) => rule.names));
    for (const needed of ['unshare', 'clone', 'mount', 'umount2', 'pivot_root', 'capset', 'prctl', 'seccomp', 'execve']) expect(allowed).toContain(needed);
    for (const risky of ['bpf', 'ptrace', 'kexec_load', 'init_module', 'finit_module', 'delete_module', 'perf_event_open', 'keyctl', 'add_key', 'io_uring_setup', 'userfaultfd', 'open_by_handle_at', 'fsopen', 'move_mount', 'reboot', 'swapon', 'settimeofday', 'process_vm_writev']) {
      expect(allowed).not.toContain(risky);
    }
    expect(profile.syscalls).toContainEqual(expect.objectContaining({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }));
  });

  it('is the profile the agent pods name', async () => {
    const agent = (await kustomize('k8s/overlays/prod')).find((object) => String(dig(object, 'metadata', 'name')) === 'medfed-agent' && object.kind === 'Deployment') as Json;
    expect(dig(podSpecOf(agent), 'securityContext', 'seccompProfile')).toEqual({ type: 'Localhost', localhostProfile: 'profiles/medfed-agent-bwrap.json' });
  });
});
