import { RATIO_GRACE_BYTES, type ScanLimits } from './scan-limits.js';

/** Decompressed bytes over one whole artifact read, against max_expanded_bytes. */
export class ExpansionBudget {
  private spent = 0;
  readonly limits: ScanLimits;

  constructor(limits: ScanLimits) {
    this.limits = limits;
  }

  /** Counts bytes one stream produced; false once the artifact as a whole is over its limit. */
  spend(bytes: number): boolean {
    this.spent += bytes;
    return this.spent <= this.limits.maxExpandedBytes;
  }

  meter(): ExpansionMeter {
    return new ExpansionMeter(this);
  }
}

/** One compressed stream: what went in, what came out, and when that must stop. */
export class ExpansionMeter {
  private compressed = 0;
  private expanded = 0;
  private readonly budget: ExpansionBudget;

  constructor(budget: ExpansionBudget) {
    this.budget = budget;
  }

  fed(bytes: number): void {
    this.compressed += bytes;
  }

  /** Why decompression must stop after producing `bytes` more, or null to go on. */
  produced(bytes: number): string | null {
    this.expanded += bytes;
    const { maxExpandedBytes, maxExpansionRatio } = this.budget.limits;
    if (!this.budget.spend(bytes)) return `decompressing the artifact passed max_expanded_bytes (${maxExpandedBytes} bytes in all)`;
    if (this.expanded > RATIO_GRACE_BYTES && this.expanded > this.compressed * maxExpansionRatio) {
      return `it expanded ${this.compressed} compressed bytes to more than ${this.expanded} bytes, over max_expansion_ratio (${maxExpansionRatio}:1)`;
    }
    return null;
  }
}
