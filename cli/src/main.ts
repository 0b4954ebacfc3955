#!/usr/bin/env node
import { enableCompileCache } from 'node:module';

// The `medfed` entry point. Starting the CLI is mostly loading modules; Node's on-disk compile cache
// (keyed by each file's content, in NODE_COMPILE_CACHE or the temporary directory) makes later starts
// about a third cheaper. Where the cache cannot be written, it is simply not used.
enableCompileCache?.();
await import('./run.js');
