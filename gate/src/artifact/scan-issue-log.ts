import type { ScanIssue, ScanIssueCode } from './inventory.js';

/** A hostile archive can repeat one problem a million times; the decision lists this many per code, then a count. */
export const MAX_ISSUES_PER_CODE = 50;

/** Collects the scan issues of one artifact read, in the order they were met. */
export class ScanIssueLog {
  private readonly listed: ScanIssue[] = [];
  private readonly counts = new Map<ScanIssueCode, number>();

  add(issue: ScanIssue): void {
    const count = (this.counts.get(issue.code) ?? 0) + 1;
    this.counts.set(issue.code, count);
    if (count <= MAX_ISSUES_PER_CODE) this.listed.push(issue);
  }

  list(): ScanIssue[] {
    const more = [...this.counts]
      .filter(([, count]) => count > MAX_ISSUES_PER_CODE)
      .map(([code, count]) => ({ code, path: 'artifact', message: `${count - MAX_ISSUES_PER_CODE} more entries with ${code} were not listed` }));
    return [...this.listed, ...more];
  }
}
