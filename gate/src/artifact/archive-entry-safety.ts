import type { ScanIssueCode } from './inventory.js';

/** A tar header as the parser reports it: the name as written, its type, and a link's target. */
export interface ArchiveHeader {
  readonly path: string;
  readonly type: string;
  readonly linkpath?: string;
}

export interface UnsafeEntry {
  readonly code: ScanIssueCode;
  readonly message: string;
}

const SPECIAL_FILES: Readonly<Record<string, string>> = {
  CharacterDevice: 'a character device',
  BlockDevice: 'a block device',
  FIFO: 'a FIFO',
};

/**
 * Judges one archive entry as an unpacker would meet it. `rootfs` is set for image layers, which a
 * container runtime unpacks into the image's own root: there an absolute link target stays inside
 * the image, so it is allowed; everywhere else it points at the host.
 */
export function checkArchiveEntry(header: ArchiveHeader, rootfs: boolean): UnsafeEntry | null {
  const name = header.path;
  if (isAbsolute(name)) {
    return { code: 'GATE_ARCHIVE_ABSOLUTE_PATH', message: `archive entry ${JSON.stringify(name)} has an absolute name; unpacking it would write outside the target directory` };
  }
  if (segments(name).includes('..')) {
    return { code: 'GATE_ARCHIVE_PATH_TRAVERSAL', message: `archive entry ${JSON.stringify(name)} climbs out of the target directory with '..'` };
  }
  const special = SPECIAL_FILES[header.type];
  if (special) {
    return { code: 'GATE_ARCHIVE_SPECIAL_FILE', message: `archive entry ${JSON.stringify(name)} is ${special}; an artifact ships regular files, directories and links only` };
  }
  if ((header.type === 'SymbolicLink' || header.type === 'Link') && header.linkpath !== undefined) {
    const escape = linkEscape(name, header.linkpath, header.type === 'Link', rootfs);
    if (escape) return { code: 'GATE_ARCHIVE_LINK_ESCAPE', message: `archive entry ${JSON.stringify(name)} is a ${header.type === 'Link' ? 'hard' : 'symbolic'} link to ${JSON.stringify(header.linkpath)}, ${escape}` };
  }
  return null;
}

function isAbsolute(path: string): boolean {
  return /^[/\\]/.test(path) || /^[A-Za-z]:/.test(path);
}

function segments(path: string): string[] {
  return path.split(/[/\\]+/).filter((segment) => segment !== '' && segment !== '.');
}

/** Why the link's target lies outside the archive, or null. Hard link targets are archive paths; symbolic ones are relative to the link. */
function linkEscape(name: string, target: string, hard: boolean, rootfs: boolean): string | null {
  if (isAbsolute(target)) return rootfs ? null : 'an absolute path outside the artifact';
  const base = hard ? [] : segments(name).slice(0, -1);
  const resolved: string[] = [...base];
  for (const segment of segments(target)) {
    if (segment !== '..') {
      resolved.push(segment);
    } else if (resolved.pop() === undefined) {
      return 'which climbs above the archive root';
    }
  }
  return null;
}
