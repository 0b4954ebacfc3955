// Runs `medfed gate ...` as its own process straight from the TypeScript sources (Node 24 strips
// types), so the tests see the real exit status, commander's own usage errors included.
// Usage: node gate-cli.mjs gate evaluate --artifact ... (the arguments after `medfed`).
import '../../../../test/support/source-hooks.mjs';

const root = new URL('../../../../', import.meta.url);

const { Command } = await import('commander');
const { register } = await import(new URL('cli/src/commands/gate.ts', root).href);
const program = new Command('medfed');
register(program);
await program.parseAsync(process.argv);
