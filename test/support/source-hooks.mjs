// Resolves @medfed/* to the workspace TypeScript sources (Node 24 strips the types), so a child
// process can run the sources without a build: `node --import <this file> script.mjs`, or import
// this file first from a launcher before it imports any source.
import { existsSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = new URL('../../', import.meta.url);

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
