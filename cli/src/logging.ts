import pino, { type Logger } from 'pino';

/** Logs go to stderr as JSON lines (stdout is for results); secrets and patient data are redacted. */
export function stderrLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { pid: process.pid, ...bindings },
    redact: { paths: ['*.token', '*.password', '*.secret', '*.apiKey', '*.authorization', 'headers.authorization'], censor: '[redacted]' },
  }, pino.destination({ fd: 2, sync: false }));
}

export function fileLogger(level: string, path: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { pid: process.pid, ...bindings },
    redact: { paths: ['*.token', '*.password', '*.secret', '*.apiKey', '*.authorization'], censor: '[redacted]' },
  }, pino.destination({ dest: path, mkdir: true, sync: false }));
}
