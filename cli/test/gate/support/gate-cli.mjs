// Runs `medfed gate ...` as its own process straight from the TypeScript sources (Node 24 strips
// types), so the tests see the real exit status, commander's own usage errors included.
// Usage: node gate-cli.mjs gate evaluate --artifact ... (the arguments after `medfed`).
import { registerHooks } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../../../../', import.meta.url);

registerHooks({
  resolve(specifier, context, nextResolve) {
    const workspace = /^@medfed\/([a-z-]+)$/.exec(specifier);
    if (workspace) return nextResolve(new URL(`${workspace[1]}/src/index.ts`, root).href, context);
    if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
      const asTs = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL);
      if (existsSync(fileURLToPath(asTs))) return nextResolve(asTs.href, context);
    }
    return nextResolve(specifier, context);
  },
});

const { Command } = await import('commander');
const { register } = await import(new URL('cli/src/commands/gate.ts', root).href);
const program = new Command('medfed');
register(program);
await program.parseAsync(process.argv);
