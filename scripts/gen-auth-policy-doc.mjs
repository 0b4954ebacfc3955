// Rewrites the policy table of docs/auth.md from the policy in force (coordinator/src/auth/policy).
import { readFileSync, writeFileSync } from 'node:fs';
import { POLICY } from '../coordinator/dist/auth/policy/policy.js';

const doc = new URL('../docs/auth.md', import.meta.url);
const describe = (access) => access === 'public' ? 'open'
  : access.map((g) => (g.scope === 'any' ? g.role : g.scope === 'own-site' ? `${g.role} (own site)` : `${g.role} (own site, listed)`)).join(', ');
const rows = POLICY.entries.map((e) => `| ${e.transport} | \`${e.operation}\` | \`${e.rule}\` | ${describe(e.access)} |`);
const lines = readFileSync(doc, 'utf8').split('\n');
const isRow = (l) => /^\| (rest|grpc) \| `/.test(l);
const first = lines.findIndex(isRow);
const last = lines.length - 1 - [...lines].reverse().findIndex(isRow);
writeFileSync(doc, [...lines.slice(0, first), ...rows, ...lines.slice(last + 1)].join('\n'));
console.log(`wrote ${rows.length} policy rows to docs/auth.md`);
