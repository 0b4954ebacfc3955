export { ReleaseService, type ReleaseServiceOptions, type ReleaseSubmission } from './release-service.js';
export { releaseTaskFor, type ReleaseTaskBody } from './release-task.js';
export { RELEASE_ERRORS, ReleaseError, type ReleaseErrorCode } from './errors.js';
export { RELEASE_STATES, ENDED_STATES, canTransition, isTerminal, type ReleaseState } from './state-machine.js';
export { defaultQuorum, tally, capacityOf, type Quorum } from './quorum.js';
export { chooseSites, nextSite } from './choose-sites.js';
export type { ReleaseView } from './release-view.js';
export { checkSiteApproval, knownStewardKey, type ApprovedRelease, type CheckedSiteApproval } from './site-approval.js';
export type { ApprovalView } from './release-view.js';
