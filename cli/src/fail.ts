import { MedfedError } from '@medfed/proto';
import { ExitCode } from './exit-codes.js';

/** Which exit code a refusal maps to (docs/errors.md lists them). */
const CODE_EXIT: ReadonlyArray<[RegExp, ExitCode]> = [
  [/^CONFIG_/, ExitCode.CONFIG],
  [/^DATA_/, ExitCode.DATA],
  [/^(COORDINATOR_UNAVAILABLE|COORDINATOR_TIMEOUT|COORDINATOR_CONNECTION_LOST|GRPC_ERROR)$/, ExitCode.UNREACHABLE],
  [/^(UNAUTHENTICATED|AUTH_|TOKEN_)/, ExitCode.AUTH],
  [/^(VALIDATION_FAILED|USAGE_)/, ExitCode.USAGE],
];

export class CliError extends MedfedError {
  readonly exitCode: ExitCode;
  constructor(code: string, message: string, exitCode: ExitCode) {
    super(code, message);
    this.exitCode = exitCode;
  }
}

export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof MedfedError) return CODE_EXIT.find(([re]) => re.test(err.code))?.[1] ?? ExitCode.FAILURE;
  return ExitCode.FAILURE;
}

/** Prints `error CODE: message` on stderr and exits with the mapped code. */
export function reportAndExit(err: unknown): never {
  const code = err instanceof MedfedError ? err.code : 'UNEXPECTED';
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`medfed: error ${code}: ${message}\n`);
  if (!(err instanceof MedfedError) && err instanceof Error && process.env.MEDFED_DEBUG) process.stderr.write(`${err.stack}\n`);
  process.exit(exitCodeFor(err));
}
