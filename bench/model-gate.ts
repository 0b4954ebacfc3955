/**
 * The agent's model gate: time added to each model load (docs/gate.md, "Models at the agent").
 *
 *   node bench/model-gate.ts [--runs 20] [--json]
 *
 * Needs a build (npm run build). The shipped model policy in prod (loaded once, as at agent start)
 * judges a model blob plus a manifest-sized JWS with a verified manifest signature, for several
 * model sizes; one SHA-256 of the same bytes is shown next to it for scale.
 */
import { createHash, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ModelGate } from '@medfed/node-agent/verification/index';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' }, json: { type: 'boolean', default: false } } });
const runs = Number(values.runs);
const gate = await ModelGate.load({}, 'production', () => {});
const manifestJws = `${'a'.repeat(200)}.${'b'.repeat(900)}.${'c'.repeat(86)}`;
const rows: { bytes: number; gateMs: number; sha256Ms: number }[] = [];
for (const size of [4 * 1024, 400 * 1024, 4 * 1024 * 1024, 32 * 1024 * 1024]) {
  const bytes = randomBytes(size);
  const blobSha256 = createHash('sha256').update(bytes).digest('hex');
  const model = { modelId: 'bench', blobName: 'model.bin', bytes, manifestJws, signedBy: { kid: 'bench', blobSha256 } };
  for (let i = 0; i < 3; i++) await gate.check(model);
  let t0 = performance.now();
  for (let i = 0; i < runs; i++) await gate.check(model);
  const gateMs = (performance.now() - t0) / runs;
  t0 = performance.now();
  for (let i = 0; i < runs; i++) createHash('sha256').update(bytes).digest('hex');
  rows.push({ bytes: size, gateMs, sha256Ms: (performance.now() - t0) / runs });
}
if (values.json) {
  process.stdout.write(`${JSON.stringify(rows)}\n`);
} else {
  for (const r of rows) {
    process.stdout.write(`${(r.bytes / 1024).toFixed(0).padStart(6)} KiB  gate ${r.gateMs.toFixed(2).padStart(7)} ms per load  (one SHA-256: ${r.sha256Ms.toFixed(2)} ms)\n`);
  }
}
