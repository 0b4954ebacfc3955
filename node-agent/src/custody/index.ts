export { CUSTODY_ERRORS, CustodyError, type CustodyErrorCode } from './errors.js';
export { pinFingerprint, type SitePin } from './fingerprint.js';
export {
  PINNED_SITES_FILE, SITE_ID, THUMBPRINT, checkPin, listPins, loadPinnedSites, pinChanges, pinRoster, pinSite, pinnedSitesPath,
  type PinChange, type PinOutcome, type PinSource, type PinSiteOptions, type PinnedEntry, type RosterPins,
} from './pinned-sites.js';
export { ensureSiteKeys, pinsOf, type SiteKey, type SiteKeys } from './site-keys.js';
export { identityOf, loadSiteIdentity, type SiteIdentity } from './site-identity.js';
export {
  ROSTER_TYP, addRosterAuditor, addRosterSite, newRoster, parseRoster, readRoster, requireSelf, rosterBytes, rosterDigest, rosterSignatures,
  rosterSiteFromIdentity, setRosterRules, signRoster, verifyRoster, writeRoster, type AddOutcome, type Roster, type RosterAuditor, type RosterRules, type RosterSite,
} from './roster.js';
export { importRoster, importedRosterPath, type RosterImport } from './roster-import.js';
export {
  PIN_HINT, SITE_LIST_APPROVALS_FILE, SiteListApprovals, approveSiteList, requirePinned, reviewAnnouncedSiteList, reviewSiteList, siteListDigest,
  type ReviewedSite, type SiteListAnnouncement, type SiteListApproval, type SiteListReview,
} from './site-list-approvals.js';
