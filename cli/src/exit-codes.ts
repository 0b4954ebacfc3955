/**
 * Numbered exit codes of the `medfed` CLI. Documented in docs/errors.md; a test keeps both in sync.
 * Commands with their own published codes (for example `medfed gate evaluate`: 0 allow, 1 warn,
 * 2 stop) document them beside the command and in the same file.
 */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  CONFIG: 3,
  DATA: 4,
  UNREACHABLE: 5,
  AUTH: 6,
  VERIFY_FAILED: 7,
  REFUSED: 8,
  INTERRUPTED: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * `medfed audit verify` and `medfed model verify`: every check passed, but nothing was pinned, so
 * they prove integrity, not origin (fail closed: not 0).
 */
export const ORIGIN_UNVERIFIED_EXIT = 9;
