import { describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const WORKFLOW = fileURLToPath(new URL('../../../.github/workflows/release.yml', import.meta.url));

interface Step {
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, string>;
}
interface Job {
  readonly needs?: string | string[];
  readonly if?: string;
  readonly permissions?: Record<string, string>;
  readonly steps: Step[];
}

async function workflow(): Promise<{ on: Record<string, unknown>; permissions: unknown; jobs: Record<string, Job> }> {
  return parse(await readFile(WORKFLOW, 'utf8'));
}

/** Index of the first step matching, or -1. */
function stepIndex(steps: readonly Step[], test: (step: Step) => boolean): number {
  return steps.findIndex(test);
}

describe('.github/workflows/release.yml', () => {
  it('never runs `npx medfed` (that could fetch a package of that name from the registry)', async () => {
    expect(await readFile(WORKFLOW, 'utf8')).not.toMatch(/npx\s+medfed/);
  });

  it('pins every action by full commit SHA and grants no default permissions', async () => {
    const file = await workflow();
    expect(file.permissions).toEqual({});
    for (const job of Object.values(file.jobs)) {
      for (const step of job.steps.filter((candidate) => candidate.uses)) expect(step.uses).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/);
    }
  });

  it('build: image, CycloneDX SBOM, Trivy failing on HIGH/CRITICAL, cosign over the digest, then the gate', async () => {
    const { build } = (await workflow()).jobs;
    const steps = build?.steps ?? [];
    const built = stepIndex(steps, (step) => step.uses?.startsWith('docker/build-push-action@') ?? false);
    const sbom = stepIndex(steps, (step) => step.with?.format === 'cyclonedx');
    const failOnHigh = stepIndex(steps, (step) => step.with?.severity === 'HIGH,CRITICAL' && step.with['exit-code'] === '1');
    const signed = stepIndex(steps, (step) => /cosign sign --yes --key \S+ "\$\{\{ steps\.ref\.outputs\.image \}\}"/.test(step.run ?? ''));
    const gate = stepIndex(steps, (step) => /node cli\/dist\/main\.js gate evaluate --env prod --artifact image-oci/.test(step.run ?? ''));
    expect([built, sbom, failOnHigh, signed, gate].every((index) => index >= 0)).toBe(true);
    expect(built).toBeLessThan(sbom);
    expect(sbom).toBeLessThan(failOnHigh);
    expect(failOnHigh).toBeLessThan(signed);
    expect(signed).toBeLessThan(gate);
    // The image is referenced by digest only, never by tag, from the scan on.
    expect(steps.find((step) => step.name?.startsWith('Name the image'))?.run).toMatch(/@\$\{\{ steps\.build\.outputs\.digest \}\}/);
    const gateRun = steps[gate]?.run ?? '';
    for (const flag of ['--vuln-report trivy.json', '--sbom sbom.cdx.json', '--signature gate.sig', '--key cosign.pub', '--json']) expect(gateRun).toContain(flag);
  });

  it('deploy: verifies signatures and re-runs the gate before applying by digest', async () => {
    const { deploy } = (await workflow()).jobs;
    expect(deploy?.needs).toBe('build');
    const steps = deploy?.steps ?? [];
    const verify = stepIndex(steps, (step) => /cosign verify --key cosign\.pub/.test(step.run ?? ''));
    const gate = stepIndex(steps, (step) => /node cli\/dist\/main\.js gate evaluate --env "\$TARGET"/.test(step.run ?? ''));
    const apply = stepIndex(steps, (step) => /kubectl apply/.test(step.run ?? ''));
    expect(verify).toBeGreaterThanOrEqual(0);
    expect(verify).toBeLessThan(gate);
    expect(gate).toBeLessThan(apply);
    expect(steps[apply]?.run).toMatch(/kustomize edit set image "medfed-coordinator=\$COORDINATOR"/);
  });

  it('advisory watch: a nightly schedule rescans what is deployed and asks for a rebuild', async () => {
    const file = await workflow();
    expect(file.on.schedule).toEqual([expect.objectContaining({ cron: expect.any(String) })]);
    const watch = file.jobs['advisory-watch'];
    expect(watch?.if).toBe("github.event_name == 'schedule'");
    const runs = (watch?.steps ?? []).map((step) => step.run ?? '').join('\n');
    expect(runs).toContain('node scripts/npm-audit-gate.mjs');
    expect(runs).toContain('gh workflow run release.yml');
  });
});
