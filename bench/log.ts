/**
 * Transparency log on PostgreSQL: append throughput and proof latency at a large tree.
 *
 *   node bench/log.ts [--leaves 1000000] [--samples 500] [--json]
 *
 * Uses MEDFED_BENCH_PG (default postgres://postgres@127.0.0.1:5432/test) to create a fresh
 * database, runs the coordinator migrations, and drops it at the end. Steps, all in one run:
 *   1. pre-fill the first 1,000 leaves and time proofs there (the small-tree baseline);
 *   2. pre-fill up to --leaves in bulk (10,000 leaves per transaction);
 *   3. appends one transaction each, sequentially (the append baseline);
 *   4. appends from 512 concurrent callers through the group commit of TransparencyLog;
 *   5. inclusion and consistency proofs at the full size: generation (SQL) and verification.
 * Leaves are 64 synthetic bytes: proof cost does not depend on leaf size.
 */
import { freshBenchDatabase } from './lib/bench-database.ts';
import { MerkleLog, generateNoteKey, hashLeaf, noteSigner, verifyConsistency, verifyInclusion } from '@medfed/proto/tlog/index';
import { migrate, openPostgres } from '@medfed/coordinator/storage/index';
import { SqlTreeStore, TransparencyLog } from '@medfed/coordinator/tlog/index';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const value = Number(args[i + 1]);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name} needs a positive integer`);
  return value;
};
const LEAVES = flag('leaves', 1_000_000);
const SAMPLES = flag('samples', 500);
const JSON_OUT = args.includes('--json');
const BASE = 1_000;
const BULK = 10_000;
const SEQUENTIAL = 1_000;
const CONCURRENT = 20_000;
const IN_FLIGHT = 512;
const TARGET_APPENDS = 5_000;
const TARGET_PROOF_MS = 5;

const leaf = (i: number): Buffer => {
  const b = Buffer.alloc(64, 0x2e);
  b.write(`medfed bench leaf ${i}`);
  return b;
};
const now = () => process.hrtime.bigint();
const ms = (start: bigint) => Number(now() - start) / 1e6;
const log = (text: string) => { if (!JSON_OUT) process.stderr.write(`${text}\n`); };

interface Latency { readonly p50: number; readonly p99: number; readonly mean: number }
function summarise(samples: number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p99: at(0.99), mean: sorted.reduce((a, b) => a + b, 0) / sorted.length };
}

/** Times proof generation and verification for random leaves and sizes of the log as it is now. */
async function measureProofs(merkle: MerkleLog, samples: number) {
  const { size, rootHash } = await merkle.head();
  const pick = (n: number) => Math.floor(Math.random() * n);
  // Warm-up (JIT, connection pool, PostgreSQL plan cache) before anything is timed.
  for (let w = 0; w < 50; w++) await merkle.inclusionProof(pick(size), size);
  const inclGen: number[] = [];
  const inclVerify: number[] = [];
  const consGen: number[] = [];
  const consVerify: number[] = [];
  for (let s = 0; s < samples; s++) {
    const index = pick(size);
    let t = now();
    const proof = await merkle.inclusionProof(index, size);
    inclGen.push(ms(t));
    t = now();
    verifyInclusion(index, size, hashLeaf(leaf(index)), proof, rootHash);
    inclVerify.push(ms(t));

    const size1 = 1 + pick(size - 1);
    const root1 = await merkle.rootAt(size1);
    t = now();
    const cproof = await merkle.consistencyProof(size1, size);
    consGen.push(ms(t));
    t = now();
    verifyConsistency(size1, size, cproof, root1, rootHash);
    consVerify.push(ms(t));
  }
  return { size, inclusionGenerate: summarise(inclGen), inclusionVerify: summarise(inclVerify), consistencyGenerate: summarise(consGen), consistencyVerify: summarise(consVerify) };
}

const benchDb = await freshBenchDatabase();
const db = openPostgres(benchDb.url, { max: 4 });

try {
  await migrate(db);
  const merkle = new MerkleLog(new SqlTreeStore(db));

  // 1. Small-tree baseline.
  await merkle.append(Array.from({ length: BASE }, (_, i) => leaf(i)));
  const small = await measureProofs(merkle, SAMPLES);
  log(`proofs at ${BASE} leaves measured`);

  // 2. Bulk pre-fill.
  let t = now();
  let next = BASE;
  while (next < LEAVES) {
    const count = Math.min(BULK, LEAVES - next);
    await merkle.append(Array.from({ length: count }, (_, i) => leaf(next + i)));
    next += count;
    if (next % 100_000 === 0) log(`pre-filled ${next}`);
  }
  const bulkSeconds = ms(t) / 1000;
  const bulkRate = (LEAVES - BASE) / bulkSeconds;

  // 3. Sequential appends, one transaction each.
  t = now();
  for (let i = 0; i < SEQUENTIAL; i++) await merkle.append([leaf(next++)]);
  const sequentialRate = SEQUENTIAL / (ms(t) / 1000);
  log('sequential appends measured');

  // 4. Concurrent appends through the group commit.
  const service = new TransparencyLog({ db, signer: noteSigner(generateNoteKey('bench.medfed.example/log').signerKey), maxBatch: 1000 });
  t = now();
  let issued = 0;
  const worker = async () => {
    while (issued < CONCURRENT) {
      const i = issued++;
      await service.append(leaf(next + i));
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  next += CONCURRENT;
  const groupRate = CONCURRENT / (ms(t) / 1000);
  log('group-commit appends measured');

  // 5. Proofs at the full size.
  const large = await measureProofs(merkle, SAMPLES);

  const result = {
    leaves: large.size,
    samples: SAMPLES,
    appends: {
      bulkPerSecond: Math.round(bulkRate),
      sequentialPerSecond: Math.round(sequentialRate),
      groupCommitPerSecond: Math.round(groupRate),
      groupCommitVsSequential: groupRate / sequentialRate,
      target: TARGET_APPENDS,
    },
    proofs: { small, large, target: TARGET_PROOF_MS },
  };
  if (JSON_OUT) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    const f = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toFixed(3));
    const rows: string[][] = [
      ['metric', 'value', 'baseline', 'ratio', 'target'],
      ['bulk pre-fill (leaves/s, 10k per tx)', f(bulkRate), '', '', ''],
      ['appends/s, one tx each (baseline)', f(sequentialRate), '', '', ''],
      [`appends/s, group commit, ${IN_FLIGHT} callers`, f(groupRate), f(sequentialRate), `${f(groupRate / sequentialRate)}x`, `>= ${TARGET_APPENDS}`],
    ];
    for (const [name, key] of [['inclusion proof generate', 'inclusionGenerate'], ['inclusion proof verify', 'inclusionVerify'], ['consistency proof generate', 'consistencyGenerate'], ['consistency proof verify', 'consistencyVerify']] as const) {
      const big = large[key];
      const base = small[key];
      rows.push([`${name} p50 / p99 (ms) at ${large.size}`, `${f(big.p50)} / ${f(big.p99)}`, `${f(base.p50)} / ${f(base.p99)} at ${BASE}`, `${f(big.p50 / base.p50)}x`, `< ${TARGET_PROOF_MS}`]);
    }
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    process.stdout.write(`${rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')).join('\n')}\n`);
  }
} finally {
  await db.close();
  await benchDb.drop();
}
