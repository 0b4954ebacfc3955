import type { Command } from 'commander';
import { LocalUsers, QUERY_ROLES } from '@medfed/node-agent/query-api/index';
import { reportAndExit } from '../fail.js';
import { ExitCode } from '../exit-codes.js';
import { stateDirOf } from './agent-approve.js';

/**
 * `medfed agent users add --name N --role R`: an API key for the hospital's local query API, issued
 * by the site steward. The key is printed once; only its hash is kept (state dir, mode 0600).
 */
export function register(program: Command): void {
  const agent = program.commands.find((c) => c.name() === 'agent') ?? program.command('agent').description('run a hospital node agent');
  const users = agent.command('users').description("local users of this site's query API (API keys issued by the site steward)");
  users.command('add')
    .description('issue an API key to a local user; the key is printed once')
    .requiredOption('--name <name>', 'the user id (clinicians: as it appears in the care-team field)')
    .requiredOption('--role <role>', QUERY_ROLES.join(' | '))
    .option('-c, --config <file>', "the agent's configuration file (for its stateDir)")
    .option('--state-dir <dir>', "the agent's state directory")
    .action(async (opts: { name: string; role: string; config?: string; stateDir?: string }) => {
      try {
        const { user, key } = await new LocalUsers(await stateDirOf(opts)).add(opts.name, opts.role);
        process.stdout.write(`${JSON.stringify({ event: 'user-added', name: user.name, role: user.role, id: user.id, apiKey: key, note: 'shown once: give it to the user now' })}\n`);
        process.exit(ExitCode.OK);
      } catch (err) {
        reportAndExit(err);
      }
    });
  users.command('list')
    .description('list local users (names, roles, ids; never keys)')
    .option('-c, --config <file>', "the agent's configuration file (for its stateDir)")
    .option('--state-dir <dir>', "the agent's state directory")
    .action(async (opts: { config?: string; stateDir?: string }) => {
      try {
        const list = await new LocalUsers(await stateDirOf(opts)).list();
        process.stdout.write(`${JSON.stringify(list.map(({ keyHash: _hash, ...u }) => u), null, 2)}\n`);
        process.exit(ExitCode.OK);
      } catch (err) {
        reportAndExit(err);
      }
    });
  users.command('remove')
    .description("revoke a local user's API key")
    .requiredOption('--name <name>', 'the user id')
    .option('-c, --config <file>', "the agent's configuration file (for its stateDir)")
    .option('--state-dir <dir>', "the agent's state directory")
    .action(async (opts: { name: string; config?: string; stateDir?: string }) => {
      try {
        const removed = await new LocalUsers(await stateDirOf(opts)).remove(opts.name);
        process.stdout.write(`${JSON.stringify({ event: removed ? 'user-removed' : 'user-not-found', name: opts.name })}\n`);
        process.exit(removed ? ExitCode.OK : ExitCode.USAGE);
      } catch (err) {
        reportAndExit(err);
      }
    });
}
