import type { Logger } from 'pino';
import { GovernanceError, readRoster, rosterDigest, verifyRoster, type Roster } from '@medfed/proto/governance/index';
import type { Db } from '../storage/db.js';
import { installRoster } from './install-roster.js';
import { currentRoster } from './roster-store.js';

/** The audit rule of a roster installed from the configuration at start. */
export const ROSTER_FILE_RULE = 'config:governance.rosterFile';

/**
 * `governance.rosterFile` (MEDFED_GOVERNANCE_ROSTER_FILE), read at start. The file must verify
 * (every listed steward signed exactly it), or the coordinator does not start: a roster edited on
 * disk is refused with its ROSTER_* code. With no roster installed yet, the file's is installed
 * (an audit event, like an install through the API). The same roster as installed: nothing to do.
 * An older version than the installed one: the installed one stays (a warning says so). Anything
 * else would change the rule without the stewards' approvals, and is refused
 * (GOVERNANCE_ROSTER_CONFLICT): replacements go through `medfed governance roster install --approval`.
 */
export async function applyRosterFile(db: Db, path: string, log: Logger): Promise<void> {
  let roster: Roster;
  try {
    roster = await readRoster(path);
    await verifyRoster(roster);
  } catch (err) {
    if (err instanceof GovernanceError) {
      throw new GovernanceError(err.code, `governance.rosterFile ${path} does not verify, so the coordinator does not start: ${err.message}`, err.details, { cause: err });
    }
    throw err;
  }
  const digest = rosterDigest(roster);
  const installed = await currentRoster(db);
  if (!installed) {
    await installRoster(db, { roster, by: { actor: 'coordinator', role: 'system', rule: ROSTER_FILE_RULE, requestId: null } });
    log.info({ consortium: roster.consortium, version: roster.version, digest }, 'consortium roster installed from governance.rosterFile');
    return;
  }
  if (installed.digest === digest) return;
  const current = installed.roster;
  if (current.consortium === roster.consortium && current.version > roster.version) {
    log.warn({ file: path, fileVersion: roster.version, installedVersion: current.version, installedDigest: installed.digest },
      'governance.rosterFile holds an older roster than the one installed; the installed roster stays in force');
    return;
  }
  throw new GovernanceError('GOVERNANCE_ROSTER_CONFLICT',
    `governance.rosterFile ${path} holds roster ${roster.consortium} v${roster.version} (digest ${digest}), but roster ${current.consortium} v${current.version} ` +
    `(digest ${installed.digest}) is installed: a changed rule is installed with the approvals of a majority of the installed roster's stewards ` +
    `(medfed governance roster install ${path} --approval FILE ...), never from the configuration alone`);
}
