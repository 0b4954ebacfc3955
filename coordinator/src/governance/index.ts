export { effectiveRetentionDays } from './retention.js';
export { currentRoster, type InstalledRoster } from './roster-store.js';
export { installRoster, type RosterInstallRequest, type RosterInstallResult } from './install-roster.js';
export { authorizeAuditPurge, type PurgeApproval, type PurgeAuthorization, type PurgeAuthorizationRequest } from './purge-authorization.js';
export { applyRosterFile, ROSTER_FILE_RULE } from './roster-file.js';
export { type GovernanceActor } from './events.js';
