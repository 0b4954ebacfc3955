import { createHash } from 'node:crypto';
import { canonicalJson } from '@medfed/proto/audit/index';
import { ApprovalError } from './errors.js';

export const SPEC_DIGEST = /^[0-9a-f]{64}$/;

/**
 * The digest a steward approves: SHA-256 of the RFC 8785 canonical form of the job specification
 * exactly as the coordinator announces it in a task (key order and whitespace do not matter, any
 * changed value does).
 */
export function jobSpecDigest(jobSpecJson: string, jobId: string): string {
  if (jobSpecJson.trim() === '') throw new ApprovalError('JOB_SPEC_MISSING', `the task for job ${jobId} carries no job specification`);
  let spec: unknown;
  try {
    spec = JSON.parse(jobSpecJson);
  } catch {
    throw new ApprovalError('JOB_SPEC_MISSING', `the task for job ${jobId} carries a job specification that is not JSON`);
  }
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw new ApprovalError('JOB_SPEC_MISSING', `the task for job ${jobId} carries a job specification that is not an object`);
  }
  return createHash('sha256').update(canonicalJson(spec)).digest('hex');
}
