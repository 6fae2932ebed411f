#!/usr/bin/env -S MALLOC_ARENA_MAX=1 node --max-semi-space-size=8 --liftoff-only
// The `gatehouse` command (package.json "bin"). A .ts file cannot be the command itself: an
// older Node fails on it before any of our code runs. This plain JavaScript first stops
// with a clear message on a Node older than 24 (scripts/require-node.cjs), then runs the
// CLI in this same process, so the memory tuning on the #! line (src/process-tuning.ts)
// applies to it. Node 20 accepts those flags too, so it gets as far as the check.
import '../scripts/require-node.cjs';

const { enableCompileCacheSafely } = await import('../scripts/compile-cache.mjs');

// Before the first import of our sources: their type-stripped and compiled forms are then
// read from disk on the next start instead of made again (about a sixth of a start's CPU).
enableCompileCacheSafely(new URL('../node_modules/.cache/gatehouse-compile', import.meta.url));

import('../src/main.ts');
