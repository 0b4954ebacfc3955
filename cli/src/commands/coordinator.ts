import type { Command } from 'commander';
import { loadCoordinatorConfig } from '@medfed/coordinator';
import { runReplica } from '@medfed/coordinator/ha/replica';
import { stderrLogger } from '../logging.js';
import { reportAndExit } from '../fail.js';
import { parsePort } from '../options.js';

export function register(program: Command): void {
  const coordinator = program.command('coordinator').description('run the central coordinator');
  coordinator.command('start')
    .description('start the coordinator (REST + gRPC); prints one JSON line when ready')
    .option('-c, --config <file>', 'YAML or JSON configuration file')
    .option('--rest-port <port>', 'REST port (0 picks a free port)', parsePort)
    .option('--grpc-port <port>', 'gRPC port (0 picks a free port)', parsePort)
    .option('--data-dir <dir>', 'where blobs, the embedded database and the admin token live')
    .option('--database-url <url>', 'PostgreSQL URL (default: embedded PGlite in the data dir)')
    .option('--env <env>', 'development | production')
    .option('--log-level <level>', 'fatal | error | warn | info | debug | trace | silent')
    .option('--tls-cert <file>', 'PEM certificate for REST and gRPC (required beyond loopback and in production)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .action(async (opts: Record<string, string | number | undefined>) => {
      try {
        const config = await loadCoordinatorConfig({
          file: opts.config as string | undefined,
          overrides: {
            'rest.port': opts.restPort, 'grpc.port': opts.grpcPort, dataDir: opts.dataDir,
            databaseUrl: opts.databaseUrl, env: opts.env, logLevel: opts.logLevel, 'tls.cert': opts.tlsCert, 'tls.key': opts.tlsKey,
          },
        });
        const log = stderrLogger(config.logLevel, { component: 'coordinator' });
        // Nothing may fail silently: an unhandled rejection is a bug, logged as such before the process exits.
        process.on('unhandledRejection', (reason) => {
          log.fatal({ err: reason }, 'unhandledRejection');
          process.exit(70);
        });
        const print = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);
        // One replica: it leads (and prints "listening") or stands by for the leader of the same database.
        const replica = await runReplica(config, log, {
          onStandby: (s) => print({ event: 'standby', rest: s.rest, grpc: s.grpc, leader: s.leader }),
          onLeading: (running) => print({ event: 'listening', rest: running.rest, grpc: running.grpc, adminTokenFile: running.adminTokenFile }),
        });
        const shutdown = async () => {
          log.info('shutting down');
          await replica.close().catch(() => {});
          process.exit(0);
        };
        process.once('SIGINT', () => void shutdown());
        process.once('SIGTERM', () => void shutdown());
      } catch (err) {
        reportAndExit(err);
      }
    });
}
