import type { ContentMatch, TextScan } from '../artifact/inventory.js';
import { contentPatternsFor } from './sensitive-patterns.js';

/** Text is searched in windows of this many characters, so a file of any size needs no more memory than this. */
const WINDOW = 1024 * 1024;
/** Each window repeats this much of the previous one, so a match that straddles a window edge is still found. */
const OVERLAP = 4096;

/**
 * Searches one text file for the content rules as its text streams in: each rule reports the line
 * of its first match and is then retired. Never keeps the matched value.
 */
export class TextSecretScan implements TextScan {
  private readonly order: ReadonlyMap<string, number>;
  private pending: ReadonlyArray<ReturnType<typeof contentPatternsFor>[number]>;
  private readonly found: ContentMatch[] = [];
  private buffered: string[] = [];
  private bufferedLength = 0;
  private carry = '';
  private linesBeforeCarry = 0;

  constructor(path: string) {
    this.pending = contentPatternsFor(path);
    this.order = new Map(this.pending.map(({ rule }, index) => [rule.id, index]));
  }

  write(text: string): void {
    if (this.pending.length === 0) return;
    this.buffered.push(text);
    this.bufferedLength += text.length;
    if (this.bufferedLength >= WINDOW) this.scanWindow();
  }

  finish(): readonly ContentMatch[] {
    if (this.bufferedLength > 0) this.scanWindow();
    return [...this.found].sort((a, b) => (this.order.get(a.ruleId) ?? 0) - (this.order.get(b.ruleId) ?? 0));
  }

  private scanWindow(): void {
    const text = this.carry + this.buffered.join('');
    this.buffered = [];
    this.bufferedLength = 0;
    this.pending = this.pending.filter(({ rule, pattern }) => {
      const match = pattern.exec(text);
      if (!match) return true;
      this.found.push({ ruleId: rule.id, description: rule.description, line: this.linesBeforeCarry + countNewlines(text, match.index) + 1 });
      return false;
    });
    const cut = Math.max(0, text.length - OVERLAP);
    this.linesBeforeCarry += countNewlines(text, cut);
    this.carry = text.slice(cut);
  }
}

/** Searches a whole text at once, as the streaming scan would. */
export function scanTextForSecrets(text: string, path: string): readonly ContentMatch[] {
  const scan = new TextSecretScan(path);
  scan.write(text);
  return scan.finish();
}

function countNewlines(text: string, end: number): number {
  let count = 0;
  for (let index = text.indexOf('\n'); index !== -1 && index < end; index = text.indexOf('\n', index + 1)) count += 1;
  return count;
}
