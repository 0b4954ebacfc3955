/**
 * `--format json|text` works on every command that prints data. Commands that predate it take
 * `--json` (a published flag of `medfed simulate`, `gate evaluate`, `privacy epsilon`, ...): for
 * those, `--format json` means `--json` and `--format text` is the default. Commands that declare
 * `--format` themselves (`medfed runs ...`, `medfed agent preflight`) receive it unchanged.
 */
export function normalizeFormatFlag(argv: readonly string[], declaresFormat: (commandPath: string[]) => boolean): string[] {
  const words: string[] = [];
  for (const a of argv.slice(2)) {
    if (a.startsWith('-')) break;
    words.push(a);
  }
  if (declaresFormat(words)) return [...argv];
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = arg === '--format' ? argv[i + 1] : arg.startsWith('--format=') ? arg.slice('--format='.length) : undefined;
    if (value === undefined) {
      out.push(arg);
      continue;
    }
    if (arg === '--format') i++;
    if (value === 'json') out.push('--json');
    else if (value !== 'text') out.push('--format', value); // let the command refuse an unknown format
  }
  return out;
}
