// What a start loads besides our own modules. Two of Node's own are heavy and a start has
// no use for them: its TypeScript stripper (amaro, a WebAssembly compiler: ~80 ms of CPU),
// needed only for a file the compile cache does not hold, and undici (the client behind
// fetch: ~20 ms), which `import … from 'node:http'` loads by building that module's ES
// namespace. With the cache warm, a `gatehouse` run that loads every command's modules
// must load neither. Nor any of the libraries that only some requests or commands use.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const root = await mkdtemp(join(tmpdir(), 'gh-start-modules-'));
after(() => rm(root, { recursive: true, force: true }));

const BIN = join(import.meta.dirname, '../../bin/gatehouse.mjs');

describe('modules a start loads', { timeout: 120_000 }, () => {
  it('with the compile cache warm: no TypeScript stripper, no fetch client', async () => {
    // Loaded first (--import), it reports, as the process exits, which of Node's heavy
    // internals it loaded.
    const probe = join(root, 'probe.mjs');
    await writeFile(probe, "process.on('exit', () => { process.stderr.write(`LOADED ${JSON.stringify(process.moduleLoadList.filter((name) => /amaro|undici/.test(name)))}\\n`); });\n");
    const run = (): string[] => {
      // Any run imports src/main.ts, and with it every command's modules (serve's too);
      // `--help` then prints the usage (exit 2, as for any unknown command).
      const result = spawnSync(process.execPath, ['--max-semi-space-size=8', `--import=${probe}`, BIN, '--help'], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', MALLOC_ARENA_MAX: '1' } });
      assert.match(result.stderr, /usage: gatehouse <command>/);
      const line = /^LOADED (.*)$/m.exec(result.stderr)?.[1];
      assert.ok(line !== undefined, result.stderr);
      return JSON.parse(line) as string[];
    };
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
    const result = spawnSync(process.execPath, ['--max-semi-space-size=8', `--import=${probe}`, BIN, '--help'], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', MALLOC_ARENA_MAX: '1' } });
    const line = /^PACKAGES (.*)$/m.exec(result.stderr)?.[1];
    assert.ok(line !== undefined, result.stderr);
    const packages = JSON.parse(line) as string[];
    // The probe does see packages: the server's own are there.
    assert.ok(packages.includes('fastify') && packages.includes('kysely'), line);
    const heavy = packages.filter((name) => /^(@simplewebauthn\/|@peculiar\/|age-encryption$|@noble\/post-quantum$|@electric-sql\/pglite$|yazl$|@zxcvbn-ts\/language-|nodemailer$|sharp$|file-type$|qrcode$)/.test(name));
    assert.deepEqual(heavy, []);
  });
});
