/**
 * `--format json|text` works on every command that prints data. Commands that predate it take
 * `--json` (a published flag of `medfed simulate`, `gate evaluate`, `privacy epsilon`, ...): for
 * those, `--format json` means `--json` and `--format text` is the default. Commands that declare
 * `--format` themselves (`medfed runs ...`) receive it unchanged.
 */
const NATIVE_FORMAT_COMMANDS = new Set(['runs']);

export function normalizeFormatFlag(argv: readonly string[]): string[] {
  const command = argv.slice(2).find((a) => !a.startsWith('-'));
  if (command && NATIVE_FORMAT_COMMANDS.has(command)) return [...argv];
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
