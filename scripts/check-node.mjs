// Fails early, with a fix, when a script runs on a Node.js older than the one medfed needs.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`medfed needs Node.js 24 (found ${process.versions.node}). ` +
    'Run it through npm (npm start, npm test, npx medfed) so that the Node.js 24 that `npm install` provides comes first on PATH.');
  process.exit(1);
}
