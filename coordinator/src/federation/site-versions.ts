import type { Logger } from 'pino';
import type { Queryable } from '../storage/db.js';

/** What an agent announced on a call the coordinator served. */
export interface AnnouncedVersions {
  readonly protocolVersion: string;
  /** Its medfed release, when it announced one. */
  readonly agentVersion: string | null;
}

/** A site whose agent announced its version within this long counts as connected (metrics). */
export const CONNECTED_WITHIN_SECONDS = 300;

/** An unchanged announcement is written again at most this often: versionSeenAt stays fresh without a write per call. */
const REFRESH_MS = 60_000;

/**
 * Each site's last announced protocol and agent version and when (`sites.protocol_version`,
 * `agent_version`, `version_seen_at`). Recording never fails a call: a write that does not go
 * through (database away, not the leader) is logged and tried again with the site's next call.
 */
export class SiteVersions {
  readonly #db: Queryable;
  readonly #log: Logger | undefined;
  readonly #written = new Map<string, { readonly key: string; readonly at: number }>();

  constructor(db: Queryable, log?: Logger) {
    this.#db = db;
    this.#log = log;
  }

  async record(siteId: string, announced: AnnouncedVersions, now = Date.now()): Promise<void> {
    const key = `${announced.protocolVersion}\n${announced.agentVersion ?? ''}`;
    const last = this.#written.get(siteId);
    if (last && last.key === key && now - last.at < REFRESH_MS) return;
    this.#written.set(siteId, { key, at: now });
    try {
      await this.#db.query(
        `UPDATE sites SET protocol_version = $2, agent_version = coalesce($3, agent_version), version_seen_at = now() WHERE id = $1`,
        [siteId, announced.protocolVersion, announced.agentVersion]);
    } catch (err) {
      this.#written.delete(siteId);
      this.#log?.debug({ err, site: siteId }, 'announced agent version not recorded; recorded with its next call');
    }
  }
}

/** Sites connected now (announced within CONNECTED_WITHIN_SECONDS), by protocol version. */
export async function connectedSitesByProtocol(db: Queryable): Promise<ReadonlyMap<string, number>> {
  const { rows } = await db.query<{ protocol_version: string; n: string }>(
    `SELECT protocol_version, count(*) AS n FROM sites
      WHERE protocol_version IS NOT NULL AND version_seen_at > now() - make_interval(secs => $1)
      GROUP BY protocol_version`, [CONNECTED_WITHIN_SECONDS]);
  return new Map(rows.map((r) => [r.protocol_version, Number(r.n)]));
}
