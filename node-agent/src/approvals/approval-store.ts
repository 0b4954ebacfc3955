import { lstat, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../privacy/ledger/atomic-write.js';
import { withFileLock } from '../privacy/ledger/file-lock.js';
import { ApprovalError } from './errors.js';
import { SPEC_DIGEST } from './spec-digest.js';

/** One steward decision: this job, with this exact specification, under this ethics/DUA reference. */
export interface JobApproval {
  readonly jobId: string;
  readonly specDigest: string;
  /** Ethics committee approval or data-use agreement reference. */
  readonly ethicsRef: string;
  readonly note?: string;
  readonly approvedAt: string;
  readonly approver: string;
  /** `development`: granted by a development harness, never by a steward. */
  readonly mode: 'steward' | 'development';
}

/** What the coordinator announced for a job the site has not (or no longer) approved. */
export interface JobAnnouncement {
  readonly jobId: string;
  readonly specDigest: string;
  readonly spec: unknown;
  readonly announcedAt: string;
}

interface ApprovalsFile {
  readonly version: 1;
  readonly approvals: JobApproval[];
  readonly announced: JobAnnouncement[];
}

export const APPROVALS_FILE = 'job-approvals.json';
const JOB_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const MAX_TEXT = 512;
/** Ethics and data-use references are identifiers (they go into the coordinator's audit trail, which takes no free text). */
const REFERENCE = /^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}$/;

/**
 * The site's job approvals, in `<stateDir>/approvals/job-approvals.json` (mode 0600, replaced
 * atomically). Readable by the agent and by `medfed agent approve`; the coordinator never sees this
 * file, only what the agent reports.
 */
export class ApprovalStore {
  readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, 'approvals', APPROVALS_FILE);
  }

  async find(jobId: string): Promise<JobApproval | undefined> {
    return (await this.read()).approvals.find((a) => a.jobId === jobId);
  }

  async announcement(jobId: string): Promise<JobAnnouncement | undefined> {
    return (await this.read()).announced.find((a) => a.jobId === jobId);
  }

  async list(): Promise<{ approvals: readonly JobApproval[]; announced: readonly JobAnnouncement[] }> {
    return this.read();
  }

  /** Records (or replaces) the approval of a job; a replaced approval covered another spec. */
  async approve(approval: JobApproval): Promise<JobApproval> {
    checkApproval(approval);
    await this.update((file) => ({
      version: 1,
      approvals: [...file.approvals.filter((a) => a.jobId !== approval.jobId), approval],
      announced: file.announced.filter((a) => a.jobId !== approval.jobId || a.specDigest !== approval.specDigest),
    }));
    return approval;
  }

  /** Remembers the latest spec the coordinator announced for a job, for the steward to review. */
  async announce(announcement: JobAnnouncement): Promise<void> {
    await this.update((file) => {
      const previous = file.announced.find((a) => a.jobId === announcement.jobId);
      if (previous?.specDigest === announcement.specDigest) return undefined;
      return { ...file, announced: [...file.announced.filter((a) => a.jobId !== announcement.jobId), announcement] };
    });
  }

  /** Read, change, write under a lock file: the agent and the steward's command never lose each other's writes. */
  private async update(change: (file: ApprovalsFile) => ApprovalsFile | undefined): Promise<void> {
    await mkdir(join(this.path, '..'), { recursive: true, mode: 0o700 });
    await withFileLock(`${this.path}.lock`, async () => {
      const next = change(await this.read());
      if (next !== undefined) await this.write(next);
    });
  }

  private async read(): Promise<ApprovalsFile> {
    let text: string;
    try {
      const info = await lstat(this.path);
      if (!info.isFile() || (info.mode & 0o077) !== 0) {
        throw new ApprovalError('APPROVAL_STATE_INVALID', `${this.path} must be a regular file with mode 0600 (it is ${(info.mode & 0o777).toString(8)})`);
      }
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return { version: 1, approvals: [], announced: [] };
      if (error instanceof ApprovalError) throw error;
      throw new ApprovalError('APPROVAL_STATE_INVALID', `cannot read ${this.path}: ${(error as { code?: string }).code ?? 'error'}`);
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new ApprovalError('APPROVAL_STATE_INVALID', `${this.path} is not valid JSON`);
    }
    const file = value as Partial<ApprovalsFile>;
    if (typeof value !== 'object' || value === null || file.version !== 1 || !Array.isArray(file.approvals) || !Array.isArray(file.announced)) {
      throw new ApprovalError('APPROVAL_STATE_INVALID', `${this.path} is not an approvals file (version 1 with approvals and announced lists)`);
    }
    for (const a of file.approvals) checkApproval(a, this.path);
    return file as ApprovalsFile;
  }

  private async write(file: ApprovalsFile): Promise<void> {
    await writeFileAtomic(this.path, `${JSON.stringify(file, null, 2)}\n`, 0o600);
  }
}

/** Validates an approval (from a steward's command or read back from the file). */
export function checkApproval(a: JobApproval, source = 'approval'): void {
  const fail = (why: string): never => {
    throw new ApprovalError('APPROVAL_INVALID', `${source}: ${why}`);
  };
  if (typeof a !== 'object' || a === null) fail('not an object');
  if (typeof a.jobId !== 'string' || !JOB_ID.test(a.jobId)) fail('jobId must be 1-128 letters, digits, ".", "_", ":" or "-"');
  if (typeof a.specDigest !== 'string' || !SPEC_DIGEST.test(a.specDigest)) fail('specDigest must be 64 lowercase hex characters (SHA-256)');
  if (typeof a.ethicsRef !== 'string' || !REFERENCE.test(a.ethicsRef)) fail('ethicsRef must be a reference such as IRB-2026-114 or DUA/7 (letters, digits and ._:@/+-, at most 128, no spaces)');
  if (a.note !== undefined && (typeof a.note !== 'string' || a.note.length > MAX_TEXT)) fail(`note must be a text of at most ${MAX_TEXT} characters`);
  if (typeof a.approver !== 'string' || a.approver.trim() === '' || a.approver.length > 128) fail('approver must be a non-empty text');
  if (typeof a.approvedAt !== 'string' || Number.isNaN(Date.parse(a.approvedAt))) fail('approvedAt must be an ISO time');
  if (a.mode !== 'steward' && a.mode !== 'development') fail('mode must be "steward" or "development"');
}
