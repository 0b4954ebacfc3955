import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { CommanderError, Option, type Command } from 'commander';
import {
  DECISION_EXIT_CODE,
  GATE_ENVIRONMENTS,
  GateError,
  artifactDigest,
  decisionToJson,
  evaluateGate,
  renderDecisionText,
  signDigest,
  type GateEnvironment,
} from '@medfed/gate';
import { MedfedError } from '@medfed/proto';
import { ExitCode } from '../exit-codes.js';

/**
 * `medfed gate evaluate | digest | sign`.
 * `evaluate` publishes its own exit codes: 0 allow, 1 warn, 2 stop and every failure (usage errors,
 * commander's own included). `digest` and `sign` use ExitCode (USAGE for usage errors, DATA for
 * unreadable inputs).
 */

/** Where the commands write and how they finish; tests pass their own. */
export interface GateIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly exit: (code: number) => void;
}

const processIo: GateIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  exit: (code) => {
    process.exitCode = code;
  },
};

export interface EvaluateCliOptions {
  readonly policy?: string;
  readonly artifact: string;
  readonly vulnReport?: string;
  readonly sbom?: string;
  readonly signature?: string;
  readonly key: readonly string[];
  readonly env: GateEnvironment;
  readonly json?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function register(program: Command, io: GateIo = processIo): void {
  const gate = program
    .command('gate')
    .description('supply-chain admission gate: evaluate an artifact, print its digest, sign it');
  overrideExit(gate, ExitCode.USAGE);

  const evaluate = gate
    .command('evaluate')
    .description('decide allow (exit 0), warn (exit 1) or stop (exit 2) for an artifact under a policy; every failure exits 2')
    .option('--policy <file>', 'policy YAML (default: gate/policies/default.yaml shipped with medfed)')
    .requiredOption('--artifact <path>', 'artifact directory or tarball (tar or tar.gz)')
    .option('--vuln-report <file>', 'Trivy (schema 2), Grype or npm audit JSON for this artifact')
    .option('--sbom <file>', 'CycloneDX JSON SBOM')
    .option('--signature <file>', 'base64 signature over "sha256:<artifact digest>" (cosign sign-blob output)')
    .option('--key <pem>', 'trusted public key, PEM SPKI; repeat for several', collect, [])
    .addOption(new Option('--env <env>', 'target environment').choices(GATE_ENVIRONMENTS).makeOptionMandatory())
    .option('--json', 'print the decision as JSON')
    .action(async (options: EvaluateCliOptions) => io.exit(await runEvaluate(options, io)));
  overrideExit(evaluate, DECISION_EXIT_CODE.stop);

  const digest = gate
    .command('digest')
    .description('print the artifact digest (sha256:<hex>) that signatures cover and reports are bound to')
    .requiredOption('--artifact <path>', 'artifact directory or tarball')
    .option('--json', 'print {"artifactDigest": ...}')
    .action(async (options: { artifact: string; json?: boolean }) => io.exit(await runDigest(options, io)));
  overrideExit(digest, ExitCode.USAGE);

  const sign = gate
    .command('sign')
    .description('sign "sha256:<artifact digest>" as the gate verifies it (Ed25519 or ECDSA P-256/P-384 PEM private key)')
    .requiredOption('--artifact <path>', 'artifact directory or tarball')
    .requiredOption('--key <pem>', 'unencrypted PKCS#8 or SEC1 PEM private key')
    .option('--output <file>', 'write the base64 signature here instead of printing it')
    .action(async (options: { artifact: string; key: string; output?: string }) => io.exit(await runSign(options, io)));
  overrideExit(sign, ExitCode.USAGE);
}

/** `medfed gate evaluate`: prints the decision and returns its exit code. */
export async function runEvaluate(options: EvaluateCliOptions, io: Pick<GateIo, 'stdout' | 'stderr'>): Promise<number> {
  try {
    if (options.signature !== undefined && options.key.length === 0) {
      throw new GateError('GATE_USAGE', '--signature needs at least one --key PUBKEY.pem to check it with');
    }
    const decision = await evaluateGate({
      artifact: options.artifact,
      env: options.env,
      trustedKeys: options.key,
      ...(options.policy === undefined ? {} : { policy: options.policy }),
      ...(options.vulnReport === undefined ? {} : { vulnReport: options.vulnReport }),
      ...(options.sbom === undefined ? {} : { sbom: options.sbom }),
      ...(options.signature === undefined ? {} : { signature: options.signature }),
    });
    io.stdout(options.json ? `${JSON.stringify(decisionToJson(decision), null, 2)}\n` : renderDecisionText(decision));
    return DECISION_EXIT_CODE[decision.decision];
  } catch (error) {
    const code = error instanceof MedfedError ? error.code : 'GATE_FAILURE';
    const message = error instanceof Error ? error.message : String(error);
    if (options.json) io.stdout(`${JSON.stringify({ decision: 'stop', env: options.env, triggers: [], error: { code, message } }, null, 2)}\n`);
    io.stderr(`error ${code}: ${message}\n`);
    return DECISION_EXIT_CODE.stop;
  }
}

async function runDigest(options: { artifact: string; json?: boolean }, io: GateIo): Promise<number> {
  try {
    const value = await artifactDigest(options.artifact);
    io.stdout(options.json ? `${JSON.stringify({ artifactDigest: value })}\n` : `${value}\n`);
    return ExitCode.OK;
  } catch (error) {
    return fail(error, io);
  }
}

async function runSign(options: { artifact: string; key: string; output?: string }, io: GateIo): Promise<number> {
  try {
    let key: KeyObject;
    try {
      key = createPrivateKey(await readFile(options.key));
    } catch (error) {
      throw new GateError('GATE_KEY_INVALID', `--key ${options.key}: not a readable, unencrypted PEM private key (${(error as Error).message})`);
    }
    const signature = signDigest(await artifactDigest(options.artifact), key);
    if (options.output === undefined) io.stdout(`${signature}\n`);
    else await writeFile(options.output, `${signature}\n`);
    return ExitCode.OK;
  } catch (error) {
    return fail(error, io);
  }
}

function fail(error: unknown, io: GateIo): number {
  const code = error instanceof MedfedError ? error.code : 'GATE_FAILURE';
  io.stderr(`error ${code}: ${error instanceof Error ? error.message : String(error)}\n`);
  return ExitCode.DATA;
}

/**
 * commander exits 1 on its own usage errors; the gate's published codes differ, so its exits are
 * replaced: help and version exit 0, anything else exits with `usageExit`. commander has already
 * printed the message when this runs.
 */
function overrideExit(command: Command, usageExit: number): void {
  command.exitOverride((error: CommanderError) => {
    process.exit(error.exitCode === 0 ? 0 : usageExit);
  });
}
