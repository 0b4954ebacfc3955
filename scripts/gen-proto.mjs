// Regenerates proto/src/gen from proto/proto/**/*.proto with buf + ts-proto (both local npm packages).
// `--check` regenerates into a temporary folder and fails when the committed code is stale.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const protoDir = join(root, 'proto');
const buf = join(root, 'node_modules', '.bin', 'buf');
const check = process.argv.includes('--check');

function listFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? listFiles(p) : [p];
  });
}

function generate(outDir) {
  const work = mkdtempSync(join(tmpdir(), 'medfed-gen-'));
  try {
    cpSync(join(protoDir, 'proto'), join(work, 'proto'), { recursive: true });
    cpSync(join(protoDir, 'buf.yaml'), join(work, 'buf.yaml'));
    const genYaml = readFileSync(join(protoDir, 'buf.gen.yaml'), 'utf8')
      .replace('../node_modules/.bin/protoc-gen-ts_proto', join(root, 'node_modules', '.bin', 'protoc-gen-ts_proto'))
      .replace('out: src/gen', `out: ${outDir}`);
    execFileSync(buf, ['generate', '--template', genYaml], { cwd: work, stdio: ['ignore', 'inherit', 'inherit'] });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const targetArg = process.argv.indexOf('--target');
const target = targetArg > 0 ? process.argv[targetArg + 1] : join(protoDir, 'src', 'gen');
if (!check) {
  rmSync(target, { recursive: true, force: true });
  generate(target);
  console.log(`generated ${listFiles(target).map((f) => relative(root, f)).join(', ')}`);
} else {
  const tmp = mkdtempSync(join(tmpdir(), 'medfed-gen-check-'));
  try {
    generate(tmp);
    const fresh = listFiles(tmp).map((f) => relative(tmp, f)).sort();
    const committed = listFiles(target).map((f) => relative(target, f)).sort();
    const stale = [];
    if (JSON.stringify(fresh) !== JSON.stringify(committed)) stale.push(`file list differs: ${committed} vs ${fresh}`);
    for (const f of fresh) {
      const a = readFileSync(join(tmp, f), 'utf8');
      let b = '';
      try { b = readFileSync(join(target, f), 'utf8'); } catch { /* missing */ }
      if (a !== b) stale.push(f);
    }
    if (stale.length) {
      console.error(`generated code is stale: ${stale.join(', ')}. Run: npm run gen:proto`);
      process.exit(1);
    }
    console.log('generated code is up to date');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
