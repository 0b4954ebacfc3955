// The `medfed` command line: every command registered on one commander program (entry: main.ts).
import { Command, CommanderError } from 'commander';
import { ExitCode } from './exit-codes.js';
import { normalizeFormatFlag } from './format-option.js';
import { register as registerCoordinator } from './commands/coordinator.js';
import { register as registerAgent } from './commands/agent.js';
import { register as registerDemo } from './commands/demo.js';
import { register as registerSimulate } from './commands/simulate.js';
import { register as registerModel } from './commands/model.js';
import { register as registerModelRelease } from './commands/release.js';
import { register as registerAudit } from './commands/audit.js';
import { register as registerGate } from './commands/gate.js';
import { register as registerPrivacy } from './commands/privacy.js';
import { register as registerMask } from './commands/mask.js';
import { register as registerRuns } from './commands/runs.js';
import { register as registerStats } from './commands/stats.js';
import { register as registerAgentInit } from './commands/agent-init.js';
import { register as registerPreflight } from './commands/preflight.js';
import { register as registerAgentApprove } from './commands/agent-approve.js';
import { register as registerAgentApproveRelease } from './commands/agent-approve-release.js';
import { register as registerAgentUsers } from './commands/agent-users.js';
import { register as registerAgentIdentity } from './commands/agent-identity.js';
import { register as registerAgentRoster } from './commands/agent-roster.js';
import { register as registerAgentSignPurge } from './commands/agent-sign-purge.js';
import { register as registerGovernance } from './commands/governance.js';
import { register as registerTrust } from './commands/trust.js';
import { register as registerAdmin } from './commands/admin.js';
import { register as registerDevCa } from './commands/dev-ca.js';
import { register as registerKeys } from './commands/keys.js';
import { register as registerSites } from './commands/sites.js';
import { register as registerJobs } from './commands/jobs.js';

const program = new Command('medfed')
  .description('medfed: federated learning and privacy coordinator for hospitals')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

/** Adding a command: one module with `register(program)`, one entry here. */
const COMMANDS: ReadonlyArray<(program: Command) => void> = [
  registerDemo, registerSimulate, registerCoordinator, registerAgent, registerModel, registerAudit,
  registerGate, registerPrivacy, registerMask, registerStats, registerAdmin, registerDevCa, registerKeys, registerSites, registerJobs,
  registerRuns, registerAgentInit, registerPreflight, // the last two add to `agent`: after registerAgent
  registerAgentApprove, registerAgentApproveRelease, registerAgentUsers, // these add to `agent` too
  registerAgentIdentity, // adds identity, pin-site, pins, approve-site-list to `agent`
  registerAgentRoster, // adds roster to `agent`
  registerAgentSignPurge, // adds sign-purge and sign-rule to `agent`, sign-purge to `audit`
  registerGovernance,
  registerTrust, // adds `trust`, and `trust` to `agent`
  registerModelRelease, // adds `release` to `model`: after registerModel
];
for (const register of COMMANDS) register(program);

// `medfed ... | head`: a reader that goes away ends the command quietly, as with any Unix tool.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

try {
  await program.parseAsync(normalizeFormatFlag(process.argv, (path) => {
    let cmd: Command | undefined = program;
    for (const word of path) {
      const next: Command | undefined = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
      if (!next) break;
      cmd = next;
    }
    return cmd !== program && cmd.options.some((o) => o.long === '--format');
  }));
} catch (err) {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') process.exit(ExitCode.OK);
    process.exit(ExitCode.USAGE);
  }
  throw err;
}
