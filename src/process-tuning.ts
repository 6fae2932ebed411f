// How the server process should be started, for its memory: every way of starting it
// (`npm start`, the `gatehouse` command's #! line, the benchmark, containers per
// docs/operations.md) uses these, and `gatehouse serve` warns when they are missing.
//
// - V8's young generation. On a machine with much memory Node sizes each semi-space up
//   to 64 MiB, and under load a busy server keeps 128 MiB of new space committed for
//   garbage that lives microseconds. 8 MiB semi-spaces (16 MiB of new space) cost a few
//   more, very short, scavenges.
// - glibc's malloc. Each Argon2id hash allocates its whole memory cost (19 MiB) on a
//   libuv pool thread. By default every pool thread gets its own malloc arena, and glibc
//   soon serves such blocks from those arenas instead of mmap, where they stay resident
//   after the hash: measured, 40 hashes left 134 MiB behind. With one arena the blocks are
//   reused while hashes run (at most one per core, hash-slots.ts) and trimmed when none
//   do, with no extra CPU per hash (a fixed MALLOC_MMAP_THRESHOLD_ also returned the
//   memory, but refaulting 19 MiB per hash cost about a quarter more CPU per hash).
//   Other C libraries ignore the variable.
// - V8's optimizing WebAssembly compiler, for PGlite (PostgreSQL compiled to WebAssembly).
//   V8 first compiles each function with its baseline compiler, Liftoff, then recompiles
//   hot ones with TurboFan. One of PostgreSQL's functions (105 kB of WebAssembly) took
//   TurboFan 2.5 s of CPU and 600 MB of compiler memory in the first seconds of serving,
//   and 60 MB of malloc's heap stayed resident afterwards. `--liftoff-only` keeps the baseline code:
//   measured (npm run bench), the server's CPU per refresh and per GET /v1/me was no
//   higher, since a request spends most of its time outside the database, and idle RSS
//   fell by 60 MB with no 1 GB peak. Only PGlite runs WebAssembly here (and fetch's HTTP
//   parser), so on PostgreSQL the flag changes nothing and is not asked for.
//   V8 reads it at start only: it must be on the command line, and NODE_OPTIONS refuses it.
import type { Engine } from './core/db/database.ts';

export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--liftoff-only'];
const PGLITE_ONLY_FLAGS: ReadonlySet<string> = new Set(['--liftoff-only']);
export const SERVER_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '1' };

/** The tuning this process was started without, as human-readable items (empty: all set). */
export function missingTuning(execArgv: readonly string[], env: NodeJS.ProcessEnv, engine: Engine): string[] {
  const options = new Set([...execArgv, ...(env['NODE_OPTIONS'] ?? '').split(' ').filter((flag) => flag !== '')]);
  const flags = SERVER_NODE_FLAGS.filter((flag) => !options.has(flag) && (engine === 'pglite' || !PGLITE_ONLY_FLAGS.has(flag)));
  const variables = Object.entries(SERVER_ENV)
    .filter(([name, value]) => env[name] !== value)
    .map(([name, value]) => `${name}=${value}`);
  return [...flags, ...variables];
}
