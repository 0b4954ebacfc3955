import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { STEWARD_APPROVAL_MAX_BYTES, peekStewardApproval, type StewardApprovalClaims } from '@medfed/proto/governance/index';
import { CliError } from '../fail.js';
import { ExitCode } from '../exit-codes.js';

/**
 * Signed approvals travel as files holding one compact JWS each (docs/governance.md): the signer
 * writes one (`medfed agent sign-purge`, `agent sign-rule`, `audit sign-purge`), the admin passes
 * them on (`--approval FILE`, repeatable). They are public: a signature, not a key.
 */

/** Commander's collector for a repeatable option. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Reads each --approval file: one compact JWS, whose claims are readable (the coordinator verifies it). */
export async function readApprovalFiles(files: readonly string[] | undefined): Promise<{ file: string; jws: string; claims: StewardApprovalClaims }[]> {
  const out: { file: string; jws: string; claims: StewardApprovalClaims }[] = [];
  for (const file of files ?? []) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new CliError('USAGE_APPROVAL_UNREADABLE', `--approval ${file} cannot be read: ${(err as { code?: string }).code ?? (err as Error).message}`, ExitCode.USAGE);
    }
    const jws = text.trim();
    if (jws.length > STEWARD_APPROVAL_MAX_BYTES) throw new CliError('USAGE_APPROVAL_UNREADABLE', `--approval ${file} is larger than a signed approval may be`, ExitCode.USAGE);
    let claims: StewardApprovalClaims;
    try {
      claims = peekStewardApproval(jws);
    } catch (err) {
      throw new CliError('USAGE_APPROVAL_UNREADABLE', `--approval ${file} is not a signed approval: ${(err as Error).message}`, ExitCode.USAGE);
    }
    out.push({ file, jws, claims });
  }
  return out;
}

/** Writes a signed approval for whoever passes it on. */
export async function writeApprovalFile(file: string, jws: string): Promise<string> {
  const path = resolve(file);
  await writeFile(path, `${jws}\n`, { mode: 0o644 });
  return path;
}

/** An ISO 8601 date or date-time as the canonical UTC instant (Date#toISOString), or a usage error. */
export function isoInstant(value: string | undefined, flag: string): string {
  if (!value) throw new CliError('USAGE_TIME', `${flag} TIME is required (ISO 8601, e.g. 2019-01-01 or 2019-01-01T00:00:00Z)`, ExitCode.USAGE);
  const ms = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new CliError('USAGE_TIME', `${flag} must be an ISO 8601 time; got ${value}`, ExitCode.USAGE);
  return new Date(ms).toISOString();
}

/** `steward site-a` / `auditor aud-1`, as messages name a signer. */
export function signerOf(claims: Pick<StewardApprovalClaims, 'signerRole' | 'signer'>): string {
  return `${claims.signerRole} ${claims.signer}`;
}
