/**
 * Preloaded (`node --import`) only when the agent traces which files the trainer needs: records
 * every module the trainer loads and every file it reads through `fs` (the WebAssembly binaries),
 * and appends a `trace` frame to stdout when the trainer exits. The agent then stages exactly those
 * files as the trainer bundle and measures them.
 */
import fs from 'node:fs';
import { registerHooks, syncBuiltinESMExports } from 'node:module';
import { fileURLToPath } from 'node:url';

// No imports of our own: this module loads before the hooks exist, so whatever it imported would
// be missing from the trace. The `trace` frame is therefore written here by hand (see protocol/frames.ts).
function traceFrame(files: readonly string[]): Buffer {
  const header = Buffer.from(JSON.stringify({ type: 'trace', files, blobs: [] }), 'utf8');
  const prefix = Buffer.alloc(12);
  prefix.write('MFT1', 0, 'ascii');
  prefix.writeUInt32LE(4 + header.length, 4);
  prefix.writeUInt32LE(header.length, 8);
  return Buffer.concat([prefix, header]);
}

const seen = new Set<string>();
const writeSync = fs.writeSync;

function record(target: unknown): void {
  try {
    if (target instanceof URL) seen.add(fileURLToPath(target));
    else if (typeof target === 'string') seen.add(target.startsWith('file:') ? fileURLToPath(target) : target);
  } catch {
    // not a file path or URL (a descriptor, a buffer): nothing to stage
  }
}

registerHooks({
  load(url, context, nextLoad) {
    if (url.startsWith('file:')) record(url);
    return nextLoad(url, context);
  },
});

for (const name of ['readFileSync', 'readFile', 'openSync', 'open', 'createReadStream'] as const) {
  const original = fs[name] as (...args: unknown[]) => unknown;
  (fs as unknown as Record<string, unknown>)[name] = function (this: unknown, ...args: unknown[]) {
    record(args[0]);
    return original.apply(this, args);
  };
}
const readFilePromise = fs.promises.readFile;
fs.promises.readFile = function (this: unknown, ...args: Parameters<typeof readFilePromise>) {
  record(args[0]);
  return readFilePromise.apply(this, args);
} as typeof readFilePromise;
syncBuiltinESMExports();

process.on('exit', () => {
  const frame = traceFrame([...seen].sort());
  for (let at = 0; at < frame.length;) at += writeSync(1, frame, at, frame.length - at);
});
