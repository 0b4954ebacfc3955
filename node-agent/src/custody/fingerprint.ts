import { canonicalJson } from '@medfed/proto/audit/index';
import { spokenFingerprint } from '@medfed/proto/trust/index';

/** What one site asks the others to pin: its id and the RFC 7638 thumbprints of its two custody keys. */
export interface SitePin {
  readonly siteId: string;
  readonly stewardKeyThumbprint: string;
  readonly keyAgreementKeyThumbprint: string;
}

/**
 * A site's pins in a form two stewards can read to each other over the phone: the spoken fingerprint
 * (as for trust bundles) of the RFC 8785 canonical JSON of {siteId, stewardKeyThumbprint,
 * keyAgreementKeyThumbprint}, e.g. `MFRG-GZDF-...`.
 */
export function pinFingerprint(pin: SitePin): string {
  return spokenFingerprint(canonicalJson({ siteId: pin.siteId, stewardKeyThumbprint: pin.stewardKeyThumbprint, keyAgreementKeyThumbprint: pin.keyAgreementKeyThumbprint }));
}
