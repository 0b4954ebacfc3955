// Runs `medfed privacy ...` / `medfed mask ...` as its own process straight from the TypeScript
// sources (Node 24 strips types), so the tests see real exit statuses and stdout, commander's own
// usage errors included. Usage: node medfed-cli.mjs <arguments after `medfed`>.
import { registerHooks } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../../../../', import.meta.url);

registerHooks({
  resolve(specifier, context, nextResolve) {
    const workspace = /^@medfed\/([a-z-]+)(?:\/(.+))?$/.exec(specifier);
    if (workspace) {
      const path = workspace[2] === undefined ? 'index' : workspace[2].replace(/\.js$/, '');
      return nextResolve(new URL(`${workspace[1]}/src/${path}.ts`, root).href, context);
    }
    if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
      const asTs = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL);
      if (existsSync(fileURLToPath(asTs))) return nextResolve(asTs.href, context);
    }
    return nextResolve(specifier, context);
  },
});

const { Command } = await import('commander');
const program = new Command('medfed');
for (const command of ['privacy', 'mask']) {
  const { register } = await import(new URL(`cli/src/commands/${command}.ts`, root).href);
  register(program);
}
await program.parseAsync(process.argv);
