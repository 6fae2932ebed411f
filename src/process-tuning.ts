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
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];
export const SERVER_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '1' };

/** The tuning this process was started without, as human-readable items (empty: all set). */
export function missingTuning(execArgv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const options = new Set([...execArgv, ...(env['NODE_OPTIONS'] ?? '').split(' ').filter((flag) => flag !== '')]);
  const flags = SERVER_NODE_FLAGS.filter((flag) => !options.has(flag));
  const variables = Object.entries(SERVER_ENV)
    .filter(([name, value]) => env[name] !== value)
    .map(([name, value]) => `${name}=${value}`);
  return [...flags, ...variables];
}
