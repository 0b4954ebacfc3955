import { GateError } from '../errors.js';
import { parseJsonInput } from '../read-input.js';
import { parseLicenseExpression, type LicenseExpression } from './license-expression.js';

export interface SbomComponent {
  /** `name@version` (or the bom-ref when present), for messages and exemption subjects. */
  readonly ref: string;
  /** Every declared license as an expression; a component must satisfy all of them. */
  readonly licenses: readonly { readonly text: string; readonly expression: LicenseExpression }[];
}

export interface Sbom {
  readonly specVersion: string;
  readonly components: readonly SbomComponent[];
}

const MAX_NESTING = 32;

/** CycloneDX JSON (1.2 to 1.6): components, nested components, and their licenses. */
export function parseCycloneDx(bytes: Uint8Array, what = 'SBOM'): Sbom {
  const json = parseJsonInput(Buffer.from(bytes), what, 'GATE_SBOM_INVALID') as Record<string, unknown> | null;
  if (typeof json !== 'object' || json === null || json.bomFormat !== 'CycloneDX') {
    throw invalid(what, 'bomFormat', 'is not "CycloneDX"; give a CycloneDX JSON SBOM (trivy --format cyclonedx, syft -o cyclonedx-json)');
  }
  if (typeof json.specVersion !== 'string' || !/^1\.[2-6]$/.test(json.specVersion)) {
    throw invalid(what, 'specVersion', `${JSON.stringify(json.specVersion)} is not a supported CycloneDX version (1.2 to 1.6)`);
  }
  const components: SbomComponent[] = [];
  collect(json.components, 'components', components, what, 0);
  return { specVersion: json.specVersion, components };
}

function collect(list: unknown, path: string, into: SbomComponent[], what: string, depth: number): void {
  if (list === undefined) return;
  if (!Array.isArray(list)) throw invalid(what, path, 'expected a list');
  if (depth > MAX_NESTING) throw invalid(what, path, `components nest deeper than ${MAX_NESTING}`);
  list.forEach((raw, index) => {
    const where = `${path}[${index}]`;
    if (typeof raw !== 'object' || raw === null) throw invalid(what, where, 'expected an object');
    const component = raw as Record<string, unknown>;
    if (typeof component.name !== 'string' || component.name === '') throw invalid(what, `${where}.name`, 'expected a non-empty string');
    const version = typeof component.version === 'string' ? `@${component.version}` : '';
    into.push({ ref: `${component.name}${version}`, licenses: licensesOf(component.licenses, `${where}.licenses`, what) });
    collect(component.components, `${where}.components`, into, what, depth + 1);
  });
}

function licensesOf(list: unknown, path: string, what: string): SbomComponent['licenses'] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw invalid(what, path, 'expected a list');
  return list.map((raw, index) => {
    const where = `${path}[${index}]`;
    const choice = (raw ?? {}) as { license?: { id?: unknown; name?: unknown }; expression?: unknown };
    if (typeof choice.expression === 'string') {
      return { text: choice.expression, expression: parseLicenseExpression(choice.expression, `${what}: ${where}.expression`) };
    }
    const id = choice.license?.id ?? choice.license?.name;
    if (typeof id !== 'string' || id === '') throw invalid(what, where, 'expected license.id, license.name or expression');
    return { text: id, expression: { op: 'license', id } };
  });
}

function invalid(what: string, path: string, problem: string): GateError {
  return new GateError('GATE_SBOM_INVALID', `${what}: ${path}: ${problem}`);
}
