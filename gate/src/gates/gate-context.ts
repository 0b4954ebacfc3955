import type { ArtifactInventory } from '../artifact/inventory.js';
import type { Severity } from '../model.js';
import type { Sbom } from '../sbom/parse-cyclonedx.js';
import type { SensitiveFinding } from '../sensitive/find-sensitive-files.js';
import type { SignatureCheck } from '../signature/verify-signature.js';
import type { VulnReport } from '../vulns/vuln-report.js';

/** An optional input: not given, given but refused (already an `input` trigger), or read. */
export type Loaded<T> = { readonly state: 'absent' } | { readonly state: 'failed' } | { readonly state: 'ok'; readonly value: T };

/** Everything the gates look at, read and parsed once before any rule runs. */
export interface GateContext {
  readonly artifact: ArtifactInventory | null;
  /** `sha256:<hex>`, or a placeholder when the artifact could not be read. */
  readonly subjectDigest: string;
  readonly vulnReport: Loaded<VulnReport>;
  readonly sbom: Loaded<Sbom>;
  readonly signature: Loaded<SignatureCheck>;
  readonly sensitiveFindings: readonly SensitiveFinding[];
}

/** A trigger that fired, before the policy's action and the exemptions are applied. */
export interface TriggerCandidate {
  readonly subject: string;
  readonly message: string;
  readonly severity?: Severity;
}

export type TriggerHandler = (context: GateContext, params: Readonly<Record<string, unknown>>) => TriggerCandidate[];
