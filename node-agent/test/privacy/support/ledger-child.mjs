// A second process spending from a ledger file, straight from the TypeScript sources (Node 24
// strips types). Usage: node ledger-child.mjs <stateDir> <dataset> <requests> <epsilon>
// Prints {"ok": n, "refused": m} once every request has settled.
import '../../../../test/support/source-hooks.mjs';

const root = new URL('../../../../', import.meta.url);

const [stateDir, dataset, requests, epsilon] = process.argv.slice(2);
const { PrivacyLedger } = await import(new URL('node-agent/src/privacy/ledger/index.ts', root).href);
const ledger = new PrivacyLedger({ stateDir, dataset });
// Wait for the go signal on stdin so both processes start spending at the same moment.
await new Promise((resolve) => process.stdin.once('data', resolve));
const results = await Promise.allSettled(
  Array.from({ length: Number(requests) }, (_, i) => ledger.spend({ epsilon: Number(epsilon), purpose: `child ${process.pid} request ${i}` })),
);
const refused = results.filter((r) => r.status === 'rejected');
const unexpected = refused.filter((r) => r.reason?.code !== 'PRIVACY_BUDGET_EXCEEDED');
process.stdout.write(JSON.stringify({ ok: results.length - refused.length, refused: refused.length, unexpected: unexpected.map((r) => String(r.reason)) }));
process.exit(0);
