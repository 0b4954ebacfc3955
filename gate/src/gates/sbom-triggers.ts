import { licenseSatisfied } from '../sbom/license-expression.js';
import type { SbomComponent } from '../sbom/parse-cyclonedx.js';
import type { GateContext, TriggerHandler } from './gate-context.js';

function components(context: GateContext): readonly SbomComponent[] {
  return context.sbom.state === 'ok' ? context.sbom.value.components : [];
}

export const SBOM_TRIGGERS: Readonly<Record<string, TriggerHandler>> = {
  missing: (context) =>
    context.sbom.state === 'absent' ? [{ subject: context.subjectDigest, message: 'no SBOM was given (--sbom); generate CycloneDX JSON with trivy or syft' }] : [],
  license_not_allowed: (context, params) => {
    const allowed = new Set((params.allowed as readonly string[]).map((id) => id.toLowerCase()));
    return components(context).flatMap((component) =>
      component.licenses
        .filter((license) => !licenseSatisfied(license.expression, allowed))
        .map((license) => ({ subject: component.ref, message: `${component.ref}: license ${license.text} is not in the policy's allowed list` })),
    );
  },
  license_missing: (context) =>
    components(context)
      .filter((component) => component.licenses.length === 0)
      .map((component) => ({ subject: component.ref, message: `${component.ref}: declares no license` })),
};
