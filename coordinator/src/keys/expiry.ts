import type { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { MedfedError } from '@medfed/proto';
import { certificateExpiry, describeExpiry, expiryWarningDays, pemCertificates, type ExpiryStatus } from '@medfed/proto/trust/index';
import type { TlsMaterial } from './tls-files.js';

const DAY_MS = 86_400_000;

/** A certificate the coordinator serves with, under the name it is reported as. */
export interface NamedCertificate {
  /** `tls-server`: the coordinator's TLS certificate; `ca`: the CA certificate that signed it. */
  readonly name: string;
  readonly cert: X509Certificate;
}

/**
 * The certificates to watch in the TLS material the coordinator serves: its own (the first of
 * tls.cert) and the CA that issued it, found in the rest of that chain or in tls.ca. A certificate
 * from a CA not shipped in either (a public CA) is watched alone.
 */
export function servedCertificates(tls: TlsMaterial | null): NamedCertificate[] {
  if (!tls) return [];
  const [leaf, ...chain] = pemCertificates(tls.cert);
  if (!leaf) throw new MedfedError('CONFIG_INVALID', 'tls.cert holds no PEM certificate');
  const candidates = [...chain, ...(tls.ca ? pemCertificates(tls.ca) : [])];
  const issuer = candidates.find((c) => c.ca && leaf.checkIssued(c) && leaf.verify(c.publicKey));
  return [{ name: 'tls-server', cert: leaf }, ...(issuer ? [{ name: 'ca', cert: issuer }] : [])];
}

export interface CertificateExpiryOptions {
  readonly log: Logger;
  /** Warn this many days ahead (default: MEDFED_EXPIRY_WARNING_DAYS, else 30). */
  readonly warningDays?: number;
  /** How often the warning is logged again (default daily). */
  readonly intervalMs?: number;
  readonly now?: () => Date;
}

/**
 * Certificate expiry at the coordinator (docs/trust.md): a warning in the log at start and daily for
 * each certificate expiring within the threshold, the gauge
 * `medfed_certificate_expiry_timestamp_seconds{certificate}` on /metrics, and the list that
 * `GET /v1/trust/expiry` answers.
 */
export class CertificateExpiry {
  readonly warningDays: number;
  readonly #certs: readonly NamedCertificate[];
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(certs: readonly NamedCertificate[], options: CertificateExpiryOptions) {
    this.#certs = certs;
    this.#log = options.log;
    this.#now = options.now ?? (() => new Date());
    this.#intervalMs = options.intervalMs ?? DAY_MS;
    try {
      this.warningDays = options.warningDays ?? expiryWarningDays();
    } catch (err) {
      throw new MedfedError('CONFIG_INVALID', (err as Error).message);
    }
  }

  /** Each watched certificate's expiry, now. */
  statuses(): ExpiryStatus[] {
    const now = this.#now();
    return this.#certs.map(({ name, cert }) => certificateExpiry(name, cert, { now, warningDays: this.warningDays }));
  }

  /** Logs a warning for every certificate expired or expiring within the threshold; returns those. */
  check(): ExpiryStatus[] {
    const due = this.statuses().filter((s) => s.warning);
    for (const s of due) {
      this.#log.warn({ certificate: s.name, notAfter: s.notAfter, daysLeft: s.daysLeft, warningDays: this.warningDays }, `${describeExpiry(s)}: renew it before it expires`);
    }
    return due;
  }

  /** Adds the expiry gauge to a metrics registry. */
  register(registry: Registry): void {
    const certs = this.#certs;
    new Gauge({
      name: 'medfed_certificate_expiry_timestamp_seconds',
      help: 'When each certificate the coordinator serves with expires (notAfter), Unix seconds',
      labelNames: ['certificate'], registers: [registry],
      collect() {
        this.reset();
        for (const { name, cert } of certs) this.set({ certificate: name }, Math.floor(cert.validToDate.getTime() / 1000));
      },
    });
  }

  /** Checks now, then again every interval until stopped. */
  start(): void {
    this.check();
    this.#timer = setInterval(() => this.check(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
