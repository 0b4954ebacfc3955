import { afterAll, describe, expect, it } from '@jest/globals';
import { evaluateGate, parseCycloneDx, parsePolicy } from '../../src/index.js';
import { licenseSatisfied, parseLicenseExpression } from '../../src/sbom/license-expression.js';
import { CLEAN_FILES, makeTree, removeTrees } from '../support/fixture-tree.js';

afterAll(removeTrees);

const policy = parsePolicy(
  `version: 1
name: sbom
environments:
  prod:
    rules:
      - { gate: sbom, trigger: missing, action: stop }
      - { gate: sbom, trigger: license_not_allowed, action: stop, params: { allowed: [MIT, Apache-2.0, BSD-3-Clause] } }
      - { gate: sbom, trigger: license_missing, action: warn }
`,
  'sbom policy',
);

type License = { license: { id?: string; name?: string } } | { expression: string };
const bom = (components: Array<{ name: string; version?: string; licenses?: License[]; components?: unknown[] }>, extra: Record<string, unknown> = {}) =>
  Buffer.from(JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79', version: 1, components, ...extra }));

const evaluate = async (sbom: Buffer | undefined) =>
  evaluateGate({ artifact: await makeTree(CLEAN_FILES), env: 'prod', policy, ...(sbom ? { sbom } : {}) });

describe('SBOM gate', () => {
  it('allows components whose licenses are all allowed', async () => {
    const decision = await evaluate(bom([{ name: 'fastify', version: '5.2.0', licenses: [{ license: { id: 'MIT' } }] }, { name: 'pg', licenses: [{ expression: 'MIT' }] }]));
    expect(decision.decision).toBe('allow');
  });

  it('stops on a license outside the allowed list, naming the component', async () => {
    const decision = await evaluate(bom([{ name: 'readline-gpl', version: '1.0.0', licenses: [{ license: { id: 'GPL-3.0-only' } }] }]));
    expect(decision.decision).toBe('stop');
    expect(decision.triggers).toEqual([expect.objectContaining({ trigger: 'license_not_allowed', subject: 'readline-gpl@1.0.0', message: expect.stringContaining('GPL-3.0-only') })]);
  });

  it('judges SPDX expressions: OR needs one allowed side, AND needs both, WITH keeps the base license', async () => {
    const decision = await evaluate(
      bom([
        { name: 'dual', licenses: [{ expression: 'GPL-2.0-only OR MIT' }] },
        { name: 'both', licenses: [{ expression: '(MIT AND GPL-2.0-only)' }] },
        { name: 'llvm', licenses: [{ expression: 'Apache-2.0 WITH LLVM-exception' }] },
      ]),
    );
    expect(decision.triggers.map((trigger) => trigger.subject)).toEqual(['both']);
  });

  it('finds nested components and warns on those without a license', async () => {
    const decision = await evaluate(bom([{ name: 'outer', licenses: [{ license: { id: 'MIT' } }], components: [{ name: 'inner', version: '2' }] }]));
    expect(decision.decision).toBe('warn');
    expect(decision.triggers).toEqual([expect.objectContaining({ trigger: 'license_missing', subject: 'inner@2' })]);
  });

  it('a missing SBOM fires the missing trigger', async () => {
    expect((await evaluate(undefined)).triggers).toEqual([expect.objectContaining({ gate: 'sbom', trigger: 'missing' })]);
  });

  it('anything but CycloneDX JSON is a stop', async () => {
    for (const bytes of [Buffer.from('{"spdxVersion":"SPDX-2.3"}'), Buffer.from('<bom/>'), bom([], { specVersion: '2.0' }), bom([{ name: 'x', licenses: [{ expression: 'MIT AND' }] }])]) {
      const decision = await evaluate(bytes);
      expect(decision.decision).toBe('stop');
      expect(decision.triggers).toEqual([expect.objectContaining({ gate: 'input', trigger: 'sbom', code: 'GATE_SBOM_INVALID' })]);
    }
  });

  it('parses expressions with precedence (AND binds tighter than OR)', () => {
    const allowed = new Set(['mit']);
    expect(licenseSatisfied(parseLicenseExpression('MIT OR GPL-2.0 AND BSD-3-Clause', 't'), allowed)).toBe(true);
    expect(licenseSatisfied(parseLicenseExpression('(MIT OR GPL-2.0) AND BSD-3-Clause', 't'), allowed)).toBe(false);
    expect(licenseSatisfied(parseLicenseExpression('mit', 't'), allowed)).toBe(true);
    expect(() => parseLicenseExpression('(MIT', 't')).toThrow(/not closed/);
    expect(parseCycloneDx(bom([{ name: 'a' }])).components).toEqual([{ ref: 'a', licenses: [] }]);
  });
});
