import type { ArtifactEntry } from '../artifact/inventory.js';
import { CONTENT_SCANNED_FILE, NAME_RULES, isPublicOnlyPem } from './sensitive-patterns.js';
import { scanTextForSecrets } from './text-secret-scan.js';

export interface SensitiveFinding {
  readonly kind: 'file_name' | 'content';
  readonly path: string;
  readonly ruleId: string;
  readonly description: string;
  /** 1-based line of the first match, for content findings. */
  readonly line?: number;
  readonly layer?: string;
}

/** Config-like files: the entries a caller without a streaming text scan should capture the bytes of. */
export function wantsContent(path: string): boolean {
  return CONTENT_SCANNED_FILE.test(path);
}

/** Files whose name rule needs their bytes too (a PEM file holding only certificates is not a secret). */
export function nameRulesNeedContent(path: string): boolean {
  const basename = path.slice(path.lastIndexOf('/') + 1);
  return NAME_RULES.some((rule) => rule.clearedByPublicPem && (rule.basename?.test(basename) ?? false));
}

/**
 * Applies the name and content tables to every entry of an artifact. Content findings come from the
 * entry's contentMatches (the streaming scan of every text file) or, for entries read without one,
 * from the captured bytes.
 */
export function findSensitiveFiles(entries: readonly ArtifactEntry[]): SensitiveFinding[] {
  const findings: SensitiveFinding[] = [];
  for (const entry of entries) {
    if (entry.kind !== 'file' && entry.kind !== 'directory') continue;
    const layer = entry.layer ? { layer: entry.layer } : {};
    const basename = entry.path.slice(entry.path.lastIndexOf('/') + 1);
    const text = entry.content?.toString('utf8');
    for (const rule of NAME_RULES) {
      if (entry.kind === 'directory' && !rule.path) continue;
      const named = (rule.basename?.test(basename) ?? false) || (rule.path?.test(entry.path) ?? false);
      if (!named || rule.exceptBasename?.test(basename)) continue;
      if (rule.clearedByPublicPem && text !== undefined && isPublicOnlyPem(text)) continue;
      findings.push({ kind: 'file_name', path: entry.path, ruleId: rule.id, description: rule.description, ...layer });
    }
    const matches = entry.contentMatches ?? (text === undefined ? [] : scanTextForSecrets(text, entry.path));
    for (const match of matches) {
      findings.push({ kind: 'content', path: entry.path, ruleId: match.ruleId, description: match.description, line: match.line, ...layer });
    }
  }
  return collapseGitMetadata(findings);
}

/** A .git directory yields one finding, named by the directory, not one per object file inside it. */
function collapseGitMetadata(findings: SensitiveFinding[]): SensitiveFinding[] {
  const gitRoots = new Set<string>();
  const collapsed: SensitiveFinding[] = [];
  for (const finding of findings) {
    if (finding.ruleId !== 'git-metadata') {
      collapsed.push(finding);
      continue;
    }
    const padded = `/${finding.path}/`;
    const root = padded.slice(1, padded.search(/\/\.git\//i) + '/.git'.length);
    const key = `${finding.layer ?? ''}|${root}`;
    if (gitRoots.has(key)) continue;
    gitRoots.add(key);
    collapsed.push({ ...finding, path: root });
  }
  return collapsed;
}
