import { once } from 'node:events';
import { createGunzip, type Gunzip } from 'node:zlib';
import type { ExpansionMeter } from './expansion-budget.js';

/** How a metered decompression ended. */
export type GunzipOutcome = { readonly state: 'ok' } | { readonly state: 'corrupt'; readonly reason: string } | { readonly state: 'over-limit'; readonly reason: string };

/**
 * Streams gzip through zlib with backpressure, handing each decompressed chunk to `onOutput` and
 * waiting for it, and stops the moment the meter says the expansion is too much: a bomb is never
 * decompressed further than one chunk past its limit, and never held in memory.
 */
export class MeteredGunzip {
  private readonly gunzip: Gunzip = createGunzip();
  private readonly meter: ExpansionMeter;
  private readonly ended: Promise<void>;
  private delivered: Promise<void> = Promise.resolve();
  private outcome: GunzipOutcome | null = null;
  private failure: unknown = null;

  constructor(meter: ExpansionMeter, onOutput: (chunk: Buffer) => Promise<void>) {
    this.meter = meter;
    this.ended = new Promise<void>((resolve) => {
      this.gunzip.on('end', resolve);
      this.gunzip.on('close', resolve);
      this.gunzip.on('error', (error: Error) => {
        this.settle({ state: 'corrupt', reason: error.message });
        resolve();
      });
    });
    this.gunzip.on('data', (chunk: Buffer) => {
      if (this.outcome) return;
      const overLimit = this.meter.produced(chunk.length);
      if (overLimit) {
        this.settle({ state: 'over-limit', reason: overLimit });
        return;
      }
      this.gunzip.pause();
      this.delivered = this.delivered
        .then(() => onOutput(chunk))
        .then(
          () => {
            this.gunzip.resume();
          },
          (error: unknown) => {
            this.failure = error;
            this.settle({ state: 'corrupt', reason: String(error) });
          },
        );
    });
  }

  get stopped(): boolean {
    return this.outcome !== null;
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.outcome) return;
    this.meter.fed(chunk.length);
    if (!this.gunzip.write(chunk)) await Promise.race([once(this.gunzip, 'drain').catch(() => undefined), this.ended]);
  }

  /** Ends the input and waits until every decompressed chunk was handed on (or the stream stopped). */
  async end(): Promise<GunzipOutcome> {
    if (!this.outcome) this.gunzip.end();
    await this.ended;
    await this.delivered;
    if (this.failure) throw this.failure;
    return this.outcome ?? { state: 'ok' };
  }

  private settle(outcome: GunzipOutcome): void {
    if (this.outcome) return;
    this.outcome = outcome;
    this.gunzip.destroy();
  }
}
