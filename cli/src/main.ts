#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { ExitCode } from './exit-codes.js';
import { register as registerCoordinator } from './commands/coordinator.js';
import { register as registerAgent } from './commands/agent.js';
import { register as registerDemo } from './commands/demo.js';
import { register as registerSimulate } from './commands/simulate.js';

const program = new Command('medfed')
  .description('medfed: federated learning and privacy coordinator for hospitals')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

for (const register of [registerDemo, registerSimulate, registerCoordinator, registerAgent]) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') process.exit(ExitCode.OK);
    process.exit(ExitCode.USAGE);
  }
  throw err;
}
