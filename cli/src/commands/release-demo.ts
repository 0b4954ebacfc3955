import { setTimeout as sleep } from 'node:timers/promises';
import { CliError } from '../fail.js';
import { ExitCode } from '../exit-codes.js';
import type { FinishedRun } from '../federation/local-federation.js';
import { RestClient } from '../federation/rest-client.js';
import type { ReleaseSummary } from './model.js';

/**
 * The release workflow as `medfed demo` and `medfed simulate` run it: DEVELOPMENT identities play
 * every person (a researcher requests; each site's steward and the compliance role approve), then
 * the running agents decrypt and countersign on their own. Real deployments give these roles to
 * different people (docs/releases.md); the output says that these are development identities.
 */
export async function releaseWithDevelopmentIdentities(run: FinishedRun, round: number, sites: readonly string[], timeoutMs = 120_000): Promise<{ release: ReleaseSummary; lines: string[] }> {
  const client = (apiKey: string) => new RestClient(run.coordinator.rest, { apiKey }, { ca: run.ca });
  const key = async (name: string, role: string, site?: string) =>
    client((await run.rest.createApiKey({ name, role, ...(site ? { site } : {}), expiresInDays: 1 })).apiKey);
  const researcher = await key('demo-researcher-development', 'researcher');
  const requested = await researcher.call<ReleaseSummary>('POST', `/v1/jobs/${encodeURIComponent(run.jobId)}/releases`,
    { round, reason: 'medfed demo: publish the final model' });
  for (const site of sites) {
    await (await key(`demo-steward-${site}-development`, 'site-steward', site)).call('POST', `/v1/releases/${requested.id}/approvals`, {});
  }
  await (await key('demo-compliance-development', 'auditor')).call('POST', `/v1/releases/${requested.id}/approvals`, {});
  const deadline = Date.now() + timeoutMs;
  let release = await researcher.call<ReleaseSummary>('GET', `/v1/releases/${requested.id}`);
  while (release.state !== 'released') {
    if (release.state === 'refused' || release.state === 'failed') {
      throw new CliError('DEMO_RELEASE_FAILED', `release ${release.id} ${release.state}: ${release.failure?.code}: ${release.failure?.message}`, ExitCode.FAILURE);
    }
    if (Date.now() > deadline) throw new CliError('RUN_TIMEOUT', `release ${release.id} is still ${release.state} after ${timeoutMs / 1000} s`, ExitCode.FAILURE);
    await sleep(250);
    release = await researcher.call<ReleaseSummary>('GET', `/v1/releases/${requested.id}`);
  }
  const lines = [
    `model release ${release.id}: development identities approve automatically (a researcher requests; the stewards of ${sites.join(', ')} and the compliance role approve)`,
    release.decryptingSite
      ? `  decrypted by ${release.decryptingSite}, reproduced and countersigned by ${release.countersigningSite}: SHA-256 ${release.sha256}`
      : `  plaintext job: nothing to decrypt; the round's model is signed as released: SHA-256 ${release.sha256}`,
    `  signed released-model manifest ${release.manifestDigest?.slice(0, 16)}…, transparency log leaf ${release.leafIndex}`,
  ];
  return { release, lines };
}
