import type { Command } from 'commander';
import { loadAgentConfig, NodeAgent } from '@medfed/node-agent';
import { fileLogger, stderrLogger } from '../logging.js';
import { reportAndExit } from '../fail.js';

export function register(program: Command): void {
  const agent = program.command('agent').description('run a hospital node agent');
  agent.command('start')
    .description('start the node agent: enroll, then poll for and run training tasks')
    .option('-c, --config <file>', 'YAML or JSON configuration file')
    .option('--site <id>', 'this site\'s id')
    .option('--coordinator <host:port>', 'the coordinator\'s gRPC address')
    .option('--data <file.csv>', 'local dataset (CSV)')
    .option('--label <column>', 'label column of the dataset')
    .option('--schema <file>', 'dataset schema file (JSON or YAML)')
    .option('--state-dir <dir>', 'private state directory of this agent')
    .option('--log-file <file>', 'write logs to this file instead of stderr')
    .option('--log-level <level>', 'fatal | error | warn | info | debug | trace | silent')
    .action(async (opts: Record<string, string | undefined>) => {
      try {
        const config = await loadAgentConfig({
          file: opts.config,
          overrides: {
            siteId: opts.site, 'coordinator.grpc': opts.coordinator, 'data.csv': opts.data, 'data.label': opts.label,
            'data.schema': opts.schema, stateDir: opts.stateDir, logFile: opts.logFile, logLevel: opts.logLevel,
          },
        });
        const log = config.logFile
          ? fileLogger(config.logLevel, config.logFile, { component: 'agent', site: config.siteId })
          : stderrLogger(config.logLevel, { component: 'agent', site: config.siteId });
        const node = new NodeAgent(config, log);
        const shutdown = async () => {
          await node.stop();
          log.flush?.();
          setTimeout(() => process.exit(0), 50);
        };
        process.once('SIGINT', () => void shutdown());
        process.once('SIGTERM', () => void shutdown());
        await node.prepare();
        await node.run();
      } catch (err) {
        reportAndExit(err);
      }
    });
}
