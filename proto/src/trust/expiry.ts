import { X509Certificate } from 'node:crypto';

/** Warn this many days before a certificate expires, unless configured otherwise. */
export const DEFAULT_EXPIRY_WARNING_DAYS = 30;

/** The environment variable that sets the threshold for the coordinator, the agent and the CLI. */
export const EXPIRY_WARNING_DAYS_ENV = 'MEDFED_EXPIRY_WARNING_DAYS';

const DAY_MS = 86_400_000;

/** When one certificate expires, and whether that is within the warning threshold. */
export interface ExpiryStatus {
  /** What it is: `tls-server`, `ca`, `ca-2` (the second certificate of a CA file), ... */
  readonly name: string;
  /** ISO 8601 UTC. */
  readonly notAfter: string;
  /** Whole days left (negative once expired). */
  readonly daysLeft: number;
  /** Expired, or expiring within the threshold. */
  readonly warning: boolean;
}

export interface ExpiryOptions {
  readonly now?: Date;
  readonly warningDays?: number;
}

/** Every certificate of a PEM text, in order (text outside the blocks is ignored); throws when a block does not parse. */
export function pemCertificates(pem: string | Uint8Array): X509Certificate[] {
  const textPem = typeof pem === 'string' ? pem : Buffer.from(pem).toString('utf8');
  return (textPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((block) => new X509Certificate(block));
}

/** The expiry of one certificate, against the threshold. */
export function certificateExpiry(name: string, cert: X509Certificate, options: ExpiryOptions = {}): ExpiryStatus {
  const now = (options.now ?? new Date()).getTime();
  const notAfter = cert.validToDate.getTime();
  const warningDays = options.warningDays ?? DEFAULT_EXPIRY_WARNING_DAYS;
  return {
    name,
    notAfter: new Date(notAfter).toISOString(),
    daysLeft: Math.floor((notAfter - now) / DAY_MS),
    warning: notAfter - now <= warningDays * DAY_MS,
  };
}

/** The expiries of every certificate in a PEM file: `name` for the first, `name-2`, `name-3` ... for the others. */
export function pemExpiries(name: string, pem: string | Uint8Array, options: ExpiryOptions = {}): ExpiryStatus[] {
  return pemCertificates(pem).map((cert, i) => certificateExpiry(i === 0 ? name : `${name}-${i + 1}`, cert, options));
}

/**
 * The warning threshold in days: MEDFED_EXPIRY_WARNING_DAYS when set (an integer from 0 to 3650),
 * else 30. Throws a RangeError naming the variable for any other value.
 */
export function expiryWarningDays(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const raw = env[EXPIRY_WARNING_DAYS_ENV]?.trim();
  if (!raw) return DEFAULT_EXPIRY_WARNING_DAYS;
  if (!/^\d{1,4}$/.test(raw) || Number(raw) > 3650) throw new RangeError(`${EXPIRY_WARNING_DAYS_ENV} must be a whole number of days from 0 to 3650, not ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** One line for a person: what expires when. */
export function describeExpiry(status: ExpiryStatus): string {
  const when = status.daysLeft < 0 ? `EXPIRED on ${status.notAfter}` : `expires on ${status.notAfter} (in ${status.daysLeft} day${status.daysLeft === 1 ? '' : 's'})`;
  return `certificate ${status.name} ${when}`;
}
