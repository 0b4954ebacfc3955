import { setTimeout as sleep } from 'node:timers/promises';
import { ensureSiteKeys } from '@medfed/node-agent/custody/site-keys';
import { consortiumOf } from '@medfed/node-agent/governance/consortium';
import { signStewardApproval, type Ed25519PublicJwk } from '@medfed/proto/governance/index';
import { CliError } from '../fail.js';
import { ExitCode } from '../exit-codes.js';
import type { FinishedRun } from '../federation/local-federation.js';
import { RestClient } from '../federation/rest-client.js';
import { releaseApprovalClaims } from './agent-approve-release.js';
import type { ReleaseSummary } from './model.js';

/** How long the demo's signed approvals stay valid: long enough for the agents' steps. */
const DEMO_APPROVAL_SECONDS = 3600;

/**
 * The release workflow as `medfed demo` and `medfed simulate` run it: DEVELOPMENT identities play
 * every person (a researcher requests; each site's steward and the compliance role approve), then
 * the running agents verify the stewards' signatures, decrypt and countersign on their own. Each
 * steward's approval is a real signature with that site's steward key, read from the site's agent
 * state directory (`run.siteStateDirs`), exactly what `medfed agent approve-release` does at a
 * hospital; only the people are played. Real deployments give these roles to different people
 * (docs/releases.md); the output says that these are development identities.
 */
export async function releaseWithDevelopmentIdentities(run: FinishedRun, round: number, sites: readonly string[], timeoutMs = 120_000): Promise<{ release: ReleaseSummary; lines: string[] }> {
  const client = (apiKey: string) => new RestClient(run.coordinator.rest, { apiKey }, { ca: run.ca });
  const key = async (name: string, role: string, site?: string) =>
    client((await run.rest.createApiKey({ name, role, ...(site ? { site } : {}), expiresInDays: 1 })).apiKey);
  const researcher = await key('demo-researcher-development', 'researcher');
  const requested = await researcher.call<ReleaseSummary & { inputSha256: string }>('POST', `/v1/jobs/${encodeURIComponent(run.jobId)}/releases`,
    { round, reason: 'medfed demo: publish the final model' });
  for (const site of sites) {
    const stateDir = run.siteStateDirs[site];
    if (!stateDir) throw new CliError('DEMO_RELEASE_FAILED', `no agent state directory is known for ${site}: its steward key cannot sign the release`, ExitCode.FAILURE);
    const steward = (await ensureSiteKeys(stateDir)).steward;
    const claims = releaseApprovalClaims({ id: requested.id, job: requested.job, round: requested.round, inputSha256: requested.inputSha256 },
      site, await consortiumOf({ stateDir }), DEMO_APPROVAL_SECONDS);
    const approval = signStewardApproval(claims, { privateKey: steward.privateKey as never, publicJwk: steward.publicJwk as Ed25519PublicJwk });
    await (await key(`demo-steward-${site}-development`, 'site-steward', site)).call('POST', `/v1/releases/${requested.id}/approvals`, { approval });
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
    `model release ${release.id}: development identities approve automatically (a researcher requests; the stewards of ${sites.join(', ')} approve, each signing with its site's steward key, and the compliance role approves)`,
    release.decryptingSite
      ? `  decrypted by ${release.decryptingSite}, reproduced and countersigned by ${release.countersigningSite}, each after verifying the stewards' signatures: SHA-256 ${release.sha256}`
      : `  plaintext job: nothing to decrypt; the round's model is signed as released: SHA-256 ${release.sha256}`,
    `  signed released-model manifest ${release.manifestDigest?.slice(0, 16)}…, transparency log leaf ${release.leafIndex}`,
  ];
  return { release, lines };
}
