import { matchesGlob } from '../glob.js';
import type { SensitiveFinding } from '../sensitive/find-sensitive-files.js';
import type { GateContext, TriggerCandidate, TriggerHandler } from './gate-context.js';

const ADVICE: Readonly<Record<SensitiveFinding['kind'], string>> = {
  file_name: 'keep it out of the artifact (.dockerignore, build output only)',
  content: 'move the value to a Secret or environment variable and rotate it if it was real',
};

function candidates(context: GateContext, kind: SensitiveFinding['kind'], params: Readonly<Record<string, unknown>>): TriggerCandidate[] {
  const ignored = (params.ignore_paths as readonly string[] | undefined) ?? [];
  return context.sensitiveFindings
    .filter((finding) => finding.kind === kind && !ignored.some((glob) => matchesGlob(finding.path, glob)))
    .map((finding) => {
      const line = finding.line === undefined ? '' : ` line ${finding.line}`;
      const layer = finding.layer ? ` (image layer ${finding.layer.slice(0, 19)}…)` : '';
      return {
        subject: finding.path,
        message: `${finding.path}${line}${layer}: ${finding.description} [${finding.ruleId}]; ${ADVICE[kind]}`,
      };
    });
}

export const SENSITIVE_FILE_TRIGGERS: Readonly<Record<string, TriggerHandler>> = {
  file_name: (context, params) => candidates(context, 'file_name', params),
  content: (context, params) => candidates(context, 'content', params),
};
