export {
  MIN_ENCRYPTED_SITES, SITE_LIST_TYP, checkSiteList, siteListBytes, signSiteList, verifySiteList,
  type SiteList, type SiteListEntry, type SignedSiteList, type PinnedSite, type PinnedSites, type StewardSigner, type SiteListTrust,
} from './site-list.js';
export { runKeyCeremony, WRAPPED_KEY_TYP, type HePublicParams, type HistoryInput, type KeyCeremonyInput, type KeyCeremonyResult } from './ceremony.js';
export { unwrapSiteKey, type UnwrapExpectation, type UnwrappedKey } from './unwrap.js';
export { writeKeyFile, readKeyFile, type HeKeyFileRecord } from './key-file.js';
