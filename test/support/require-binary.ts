import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The path of a system program a test runs (a name looked up on PATH, or an absolute path), or an
 * error naming the Debian package that provides it: a test on a host without it fails with the fix,
 * not a bare `spawn ... ENOENT`. `npm run test:all` (.ci/run) installs every such package.
 */
export function requireBinary(program: string, debianPackage: string): string {
  const candidates = isAbsolute(program)
    ? [program]
    : (process.env.PATH ?? '').split(delimiter).filter((dir) => dir.length > 0).map((dir) => join(dir, program));
  const found = candidates.find(executable);
  if (found !== undefined) return found;
  throw new Error(`${program} is not installed${isAbsolute(program) ? '' : ' (not on PATH)'}: this test needs the Debian package ${debianPackage} `
    + `(sudo apt-get install ${debianPackage}); npm run test:all installs every system package the tests need`);
}
