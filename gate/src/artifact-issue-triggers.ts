import type { ArtifactInventory, ScanIssue, ScanIssueCode } from './artifact/inventory.js';
import type { UnexemptedTrigger } from './apply-exemptions.js';
import type { GateEnvironment } from './model.js';

/**
 * Parts of the artifact the gate could not inspect. Staging and prod stop on them: what was not
 * read cannot be shown to be clean. Dev, whose policy only warns, warns (and says that the other
 * environments stop). Unsafe entries (traversal, absolute names, escaping links, devices) are
 * dangerous to unpack anywhere, so they stop in every environment, like any refused input.
 */
const UNINSPECTED: ReadonlySet<ScanIssueCode> = new Set(['GATE_CONTENT_UNSCANNED', 'GATE_ARCHIVE_NESTING_LIMIT', 'GATE_ARCHIVE_EXPANSION_LIMIT']);

const FAIL_CLOSED_ENVIRONMENTS: readonly GateEnvironment[] = ['staging', 'prod'];

export function artifactIssueTriggers(artifact: ArtifactInventory, env: GateEnvironment): UnexemptedTrigger[] {
  return artifact.issues.map((issue) => {
    const lenient = env === 'dev' && UNINSPECTED.has(issue.code);
    return {
      gate: 'input',
      trigger: 'artifact',
      action: lenient ? 'warn' : 'stop',
      subject: issue.path,
      message: messageOf(issue),
      code: issue.code,
      ...(lenient ? { stopsIn: FAIL_CLOSED_ENVIRONMENTS } : {}),
    };
  });
}

function messageOf(issue: ScanIssue): string {
  return issue.layer ? `${issue.message} (image layer ${issue.layer.slice(0, 19)}…)` : issue.message;
}
