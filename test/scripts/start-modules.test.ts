// What a start loads besides our own modules. Two of Node's own are heavy and a start has
// no use for them: its TypeScript stripper (amaro, a WebAssembly compiler: ~80 ms of CPU),
// needed only for a file the compile cache does not hold, and undici (the client behind
// fetch: ~20 ms), which `import … from 'node:http'` loads by building that module's ES
// namespace. With the cache warm, `gatehouse` runs that between them load every module
// (`--help` loads every one-shot command's, cli/commands.ts; `serve` against a database
// that refuses the connection loads the server's, then exits) must load neither. Nor any
// of the libraries that only some requests or commands use.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const root = await mkdtemp(join(tmpdir(), 'gh-start-modules-'));
after(() => rm(root, { recursive: true, force: true }));

const BIN = join(import.meta.dirname, '../../bin/gatehouse.mjs');

/**
 * The stderr of two runs with `probe` loaded first: `--help` (the usage, exit 2, after
 * loading cli/commands.ts) and `serve` on a PostgreSQL URL that refuses the connection
 * (exit 1, after loading the server's modules).
 */
function everyModuleRun(probe: string): string[] {
  const base = { PATH: process.env['PATH'] ?? '', MALLOC_ARENA_MAX: '1', HOME: root };
  const help = spawnSync(process.execPath, ['--max-semi-space-size=8', `--import=${probe}`, BIN, '--help'], { encoding: 'utf8', env: base });
  assert.match(help.stderr, /usage: gatehouse <command>/);
  const env = { ...base, DATA_DIR: join(root, 'data'), DATABASE_URL: 'postgres://gatehouse@127.0.0.1:1/gatehouse' };
  const serve = spawnSync(process.execPath, ['--max-semi-space-size=8', `--import=${probe}`, BIN, 'serve'], { encoding: 'utf8', env, timeout: 60_000 });
  assert.equal(serve.status, 1, serve.stderr);
  assert.match(serve.stderr, /ECONNREFUSED/);
  return [help.stderr, serve.stderr];
}

describe('modules a start loads', { timeout: 120_000 }, () => {
  it('with the compile cache warm: no TypeScript stripper, no fetch client', async () => {
    // Loaded first (--import), it reports, as the process exits, which of Node's heavy
    // internals it loaded.
    const probe = join(root, 'probe.mjs');
    await writeFile(probe, "process.on('exit', () => { process.stderr.write(`LOADED ${JSON.stringify(process.moduleLoadList.filter((name) => /amaro|undici/.test(name)))}\\n`); });\n");
    const run = (): string[] =>
      everyModuleRun(probe).flatMap((stderr) => {
        const line = /^LOADED (.*)$/m.exec(stderr)?.[1];
        assert.ok(line !== undefined, stderr);
        return JSON.parse(line) as string[];
      });
    run(); // fills the cache for whatever changed since it was last filled
    assert.deepEqual(run(), []);
  });

  it('no library that only some requests or commands use: WebAuthn, age, PGlite, the ZIP writer, the word lists', async () => {
    // Each of these loaded at start cost tens of milliseconds of CPU and megabytes of heap
    // (core/lazy-module.ts); they load on first use. The probe records every package the
    // process resolves, as it exits.
    const probe = join(root, 'packages.mjs');
    await writeFile(
      probe,
      [
        "import { registerHooks } from 'node:module';",
        'const seen = new Set();',
        "registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); const match = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(result.url); if (match !== null) seen.add(match[1]); return result; } });",
        "process.on('exit', () => { process.stderr.write(`PACKAGES ${JSON.stringify([...seen])}\\n`); });",
        '',
      ].join('\n'),
    );
    const packages = [
      ...new Set(
        everyModuleRun(probe).flatMap((stderr) => {
          const line = /^PACKAGES (.*)$/m.exec(stderr)?.[1];
          assert.ok(line !== undefined, stderr);
          return JSON.parse(line) as string[];
        }),
      ),
    ];
    const line = JSON.stringify(packages);
    // The probe does see packages: the server's own are there.
    assert.ok(packages.includes('fastify') && packages.includes('kysely'), line);
    const heavy = packages.filter((name) => /^(@simplewebauthn\/|@peculiar\/|age-encryption$|@noble\/post-quantum$|@electric-sql\/pglite$|yazl$|@zxcvbn-ts\/language-|nodemailer$|sharp$|file-type$|qrcode$)/.test(name));
    assert.deepEqual(heavy, []);
  });
});
