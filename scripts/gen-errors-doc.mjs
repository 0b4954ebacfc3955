// Writes docs/errors.md from the error tables and exit codes in the code (run after `tsc --build`).
import { writeFileSync } from 'node:fs';
import { renderErrorsDoc } from '../cli/dist/error-catalog.js';

const target = new URL('../docs/errors.md', import.meta.url);
writeFileSync(target, renderErrorsDoc());
console.log(`wrote ${target.pathname}`);
