import type { Command } from 'commander';
import { AGENT_VERSION, loadAgentConfig, NodeAgent } from '@medfed/node-agent';
import { channelCredentials, enrollAgent, loadEnrollConfig } from '@medfed/node-agent/identity/index';
import { fileLogger, stderrLogger } from '../logging.js';
import { CliError, reportAndExit } from '../fail.js';
import { ExitCode } from '../exit-codes.js';

export function register(program: Command): void {
  const agent = program.command('agent').description('run a hospital node agent');
  agent.command('start')
    .description('start the node agent: poll for and run training tasks (enroll first: medfed agent enroll)')
    .option('-c, --config <file>', 'YAML or JSON configuration file')
    .option('--site <id>', 'this site\'s id')
    .option('--coordinator <host:port>', 'the coordinator\'s gRPC address')
    .option('--ca <file>', 'CA certificate (PEM) that signs the coordinator\'s TLS certificate')
    .option('--data <file.csv>', 'local dataset (CSV)')
    .option('--label <column>', 'label column of the dataset')
    .option('--schema <file>', 'dataset schema file (JSON or YAML)')
    .option('--state-dir <dir>', 'private state directory of this agent (holds its key)')
    .option('--log-file <file>', 'write logs to this file instead of stderr')
    .option('--log-level <level>', 'fatal | error | warn | info | debug | trace | silent')
    .action(async (opts: Record<string, string | undefined>) => {
      try {
        const config = await loadAgentConfig({
          file: opts.config,
          overrides: {
            siteId: opts.site, 'coordinator.grpc': opts.coordinator, 'coordinator.tls.ca': opts.ca, 'data.csv': opts.data, 'data.label': opts.label,
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

  agent.command('enroll')
    .description('enroll this agent with a one-time code: generates its key pair here (the private key never leaves this host) and registers the public key')
    .option('--code <code>', 'the one-time enrollment code from an administrator (or MEDFED_ENROLLMENT_CODE)')
    .option('-c, --config <file>', 'the agent\'s YAML or JSON configuration file (as for agent start)')
    .option('--site <id>', 'this site\'s id')
    .option('--coordinator <host:port>', 'the coordinator\'s gRPC address')
    .option('--ca <file>', 'CA certificate (PEM) that signs the coordinator\'s TLS certificate')
    .option('--state-dir <dir>', 'private state directory of this agent: the key is written there with mode 0600')
    .action(async (opts: Record<string, string | undefined>) => {
      try {
        const code = opts.code ?? process.env.MEDFED_ENROLLMENT_CODE;
        if (!code) throw new CliError('USAGE_CODE_MISSING', 'give the enrollment code with --code or MEDFED_ENROLLMENT_CODE', ExitCode.USAGE);
        const config = await loadEnrollConfig({
          file: opts.config,
          overrides: { siteId: opts.site, 'coordinator.grpc': opts.coordinator, 'coordinator.tls.ca': opts.ca, stateDir: opts.stateDir },
        });
        const identity = await enrollAgent({
          coordinator: config.coordinator.grpc, channelCredentials: channelCredentials(config.coordinator.grpc, config.coordinator.tls),
          siteId: config.siteId, code, stateDir: config.stateDir, agentVersion: AGENT_VERSION,
        });
        process.stdout.write(`${JSON.stringify({ event: 'enrolled', site: identity.siteId, keyThumbprint: identity.keyThumbprint, stateDir: config.stateDir })}\n`);
        process.exit(ExitCode.OK);
      } catch (err) {
        reportAndExit(err);
      }
    });
}
