import type { FastifyReply } from 'fastify';
import { MedfedError } from '@medfed/proto';
import type { AuditAnchorer } from '../../../audit/anchorer.js';
import type { FederationEngine } from '../../../federation/engine.js';
import { PUBLISHING_ERRORS, PublishingError } from '../../../publishing/errors.js';
import type { ModelPublisher } from '../../../publishing/publisher.js';
import type { Db } from '../../../storage/db.js';

/** What the publishing, log and audit-export routes need. */
export interface PublishingRouteDeps {
  readonly engine: FederationEngine;
  readonly db: Db;
  readonly publisher: ModelPublisher;
  /** Anchors the chain head before an export, so the export carries a current anchor. */
  readonly anchorer?: AuditAnchorer;
}

/** Status of this area's codes (the coordinator-wide table answers 400 for codes it does not list). */
const STATUS: Readonly<Record<string, number>> = {
  ...Object.fromEntries(Object.entries(PUBLISHING_ERRORS).map(([code, spec]) => [code, spec.http])),
  TLOG_INDEX_OUT_OF_RANGE: 400, TLOG_ROLLBACK: 400, TLOG_PROOF_MALFORMED: 400,
};

/** Sends this area's refusals with their own status; anything else goes to the app's error handler. */
export async function answering<T>(reply: FastifyReply, fn: () => Promise<T>): Promise<T | FastifyReply> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof MedfedError && STATUS[err.code] !== undefined) return reply.status(STATUS[err.code]!).send({ code: err.code, message: err.message });
    throw err;
  }
}

/** A non-negative integer query parameter, or a PUBLISH_QUERY_INVALID refusal naming it. */
export function intParam(query: unknown, name: string, required: boolean): number | undefined {
  const raw = (query as Record<string, unknown> | undefined)?.[name];
  if (raw === undefined || raw === '') {
    if (!required) return undefined;
    throw new PublishingError('PUBLISH_QUERY_INVALID', `query parameter ${name} is required (a non-negative integer)`);
  }
  if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw)) throw new PublishingError('PUBLISH_QUERY_INVALID', `query parameter ${name} must be a non-negative integer, not ${JSON.stringify(raw)}`);
  return Number(raw);
}
