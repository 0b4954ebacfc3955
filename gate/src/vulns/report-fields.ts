import { GateError } from '../errors.js';
import { isSha256Digest } from '../artifact/digest-format.js';
import type { Severity } from '../model.js';

/** Field readers that turn a malformed report into GATE_VULN_REPORT_INVALID naming the field. */
export class ReportReader {
  readonly what: string;

  constructor(what: string) {
    this.what = what;
  }

  fail(path: string, problem: string): GateError {
    return new GateError('GATE_VULN_REPORT_INVALID', `${this.what}: ${path}: ${problem}`);
  }

  object(value: unknown, path: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw this.fail(path, 'expected an object');
    return value as Record<string, unknown>;
  }

  /** A list that scanners write as null or leave out when empty. */
  optionalList(value: unknown, path: string): unknown[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw this.fail(path, 'expected a list or null');
    return value;
  }

  string(value: unknown, path: string): string {
    if (typeof value !== 'string' || value === '') throw this.fail(path, 'expected a non-empty string');
    return value;
  }

  optionalString(value: unknown, path: string): string | null {
    if (value === undefined || value === null || value === '') return null;
    if (typeof value !== 'string') throw this.fail(path, 'expected a string');
    return value;
  }

  severity(value: unknown, path: string, table: Readonly<Record<string, Severity>>, caseInsensitive: boolean): Severity {
    const text = this.string(value, path);
    const severity = table[caseInsensitive ? text.toLowerCase() : text];
    if (!severity) throw this.fail(path, `${JSON.stringify(text)} is not a severity this scanner writes (${Object.keys(table).join(', ')})`);
    return severity;
  }

  digest(value: unknown, path: string): string {
    if (!isSha256Digest(value)) throw this.fail(path, `${JSON.stringify(value)} is not sha256:<64 lowercase hex>`);
    return value;
  }

  /** `registry/name@sha256:…` → the digest. */
  repoDigest(value: unknown, path: string): string {
    const text = this.string(value, path);
    const at = text.lastIndexOf('@');
    return this.digest(at < 0 ? text : text.slice(at + 1), path);
  }
}
