import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ZxcvbnFactory, type ZxcvbnResult } from '@zxcvbn-ts/core';
import { adjacencyGraphs, dictionary as commonDictionary } from '@zxcvbn-ts/language-common';
import { dictionary as englishDictionary, translations } from '@zxcvbn-ts/language-en';
import { runDictionaryBuilder, SCORED_PREFIX_UNITS, sharedScorer } from './guessability.ts';

const lists: Record<string, readonly (string | number)[]> = { ...commonDictionary, ...englishDictionary };

// zxcvbn-ts's own build of the same lists, with the options guessability.ts uses.
const stock = new ZxcvbnFactory({
  dictionary: Object.fromEntries(Object.entries(lists).map(([name, list]) => [name, [...list]])),
  graphs: adjacencyGraphs,
  translations,
  l33tMaxSubstitutions: 10,
  maxLength: SCORED_PREFIX_UNITS,
});

const L33T: Record<string, string> = { a: '4', e: '3', i: '1', o: '0', s: '$', t: '7' };

// Words from every list at spread-out ranks, each as is and in the spellings zxcvbn-ts
// looks through (capitals, reversal, l33t), alone, with digits and joined to another.
function corpus(): string[] {
  const passwords = new Set<string>(['correct horse battery staple', 'Tr0ub4dor&3', 'qwertyuiopasdfgh', 'zxcvbnm,./', '1qaz2wsx3edc', '19871231', '12/31/1987', 'abcdefghijk', 'aaaaaaaaaaaa', 'xX9$kQ!z2Lm@', 'alice.smith1987', 'smithalice', 'crimson kites over quiet harbors', 'ñandú🦩ж!', 'constructor', 'toString12']);
  for (const list of Object.values(lists)) {
    const step = Math.max(1, Math.floor(list.length / 50));
    for (let index = 0; index < list.length; index += step) {
      const word = String(list[index]);
      const other = String(list[(index * 7 + 3) % list.length]);
      const capital = word.charAt(0).toUpperCase() + word.slice(1);
      passwords.add(word);
      passwords.add(capital);
      passwords.add(word.toUpperCase());
      passwords.add(Array.from(word).reverse().join(''));
      passwords.add(word.replace(/[aeiost]/g, (letter) => L33T[letter] ?? letter));
      passwords.add(`${capital}2024!`);
      passwords.add(`${word}${other}`);
      passwords.add(`${other} ${word} ${index}`);
    }
  }
  return [...passwords];
}

// calcTime is the wall time of the check: the one field allowed to differ.
function comparable(result: ZxcvbnResult): ZxcvbnResult {
  return { ...result, calcTime: 0 };
}

describe('password guessability', { timeout: 240_000 }, () => {
  it('scores as zxcvbn-ts with its own dictionaries: every match, guess count and feedback', async () => {
    // One difference by design (compact-dictionary.ts): zxcvbn-ts's plain objects also
    // "find" Object.prototype's names ("constructor", "__proto__") in every list, as words
    // with a function for a rank; the compact lists find only listed words. The corpus
    // holds no such name outside the lists that list it.

    const compact = await sharedScorer();
    const passwords = corpus();
    assert.ok(passwords.length > 2_500, `${passwords.length} passwords`);
    let dictionaryMatches = 0;
    for (const password of passwords) {
      const inputs = ['alice', 'smith', 'alice.smith@example.com'];
      const expected = comparable(stock.check(password, inputs));
      assert.deepEqual(comparable(compact.check(password, inputs)), expected, password);
      dictionaryMatches += expected.sequence.filter((match) => match.pattern === 'dictionary').length;
    }
    // The corpus does reach the lists, through every kind of dictionary match.
    assert.ok(dictionaryMatches > passwords.length, `${dictionaryMatches} dictionary matches`);
  });

  it('keeps the word lists out of the server: their modules never load there, and its heap grows by under 4 MB', async () => {
    // A fresh process, so nothing else has loaded the lists: it records every module its
    // main thread resolves, loads the dictionaries, and reports its memory after a full
    // collection. zxcvbn-ts's own build adds about 28 MB of heap; the compact lists are
    // 9 MB of typed arrays outside it.
    const script = `
      import { registerHooks } from 'node:module';
      const seen = [];
      registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); seen.push(result.url); return result; } });
      const gc = () => { globalThis.gc(); globalThis.gc(); return process.memoryUsage(); };
      const { createGuessabilityEstimator, preloadGuessability } = await import(${JSON.stringify(new URL('./guessability.ts', import.meta.url).href)});
      const before = gc();
      await preloadGuessability();
      const estimate = await createGuessabilityEstimator().estimate('password1234', []);
      const after = gc();
      console.log(JSON.stringify({ common: estimate.common, lists: seen.filter((url) => url.includes('@zxcvbn-ts/language')), heap: after.heapUsed - before.heapUsed, external: after.external - before.external }));
    `;
    const directory = await mkdtemp(join(tmpdir(), 'gh-guessability-'));
    after(() => rm(directory, { recursive: true, force: true }));
    const file = join(directory, 'probe.mjs');
    await writeFile(file, script);
    const result = spawnSync(process.execPath, ['--expose-gc', file], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { common: boolean; lists: string[]; heap: number; external: number };
    assert.equal(report.common, true);
    assert.deepEqual(report.lists, []);
    const MB = 1024 * 1024;
    assert.ok(report.heap < 4 * MB, `heap grew by ${(report.heap / MB).toFixed(1)} MB`);
    assert.ok(report.external > 8 * MB, `external memory grew by ${(report.external / MB).toFixed(1)} MB`);
  });

  it('refuses what a failing or misbehaving builder writes: a crash, a truncated or oversized output, garbage', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'gh-builder-'));
    after(() => rm(directory, { recursive: true, force: true }));
    const builders: Record<string, { script: string; error: RegExp }> = {
      crash: { script: "process.exit(3);", error: /exit code 3/ },
      silent: { script: '', error: /output incomplete/ },
      truncated: { script: "const b = Buffer.alloc(4); b.writeUInt32LE(1000); process.stdout.write(b); process.stdout.write(Buffer.alloc(10));", error: /output incomplete/ },
      oversized: { script: "const b = Buffer.alloc(4); b.writeUInt32LE(0xffffffff); process.stdout.write(b);", error: /more output than expected/ },
      garbage: { script: "const body = Buffer.from('not a header at all'); const b = Buffer.alloc(4); b.writeUInt32LE(body.length); process.stdout.write(b); process.stdout.write(body);", error: /password dictionaries: (truncated header|malformed header)|JSON/ },
    };
    for (const [name, { script, error }] of Object.entries(builders)) {
      const file = join(directory, `${name}.mjs`);
      await writeFile(file, script);
      await assert.rejects(runDictionaryBuilder(file), error, name);
    }
  });

  it('gives up on a stuck builder at the deadline and kills it, even one that ignores SIGTERM', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'gh-builder-stuck-'));
    after(() => rm(directory, { recursive: true, force: true }));
    const pidFile = join(directory, 'pid');
    const file = join(directory, 'stuck.mjs');
    await writeFile(file, `import { writeFileSync } from 'node:fs'; writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);`);
    const started = performance.now();
    await assert.rejects(runDictionaryBuilder(file, 1_000), /did not finish within 1000 ms/);
    const waited = performance.now() - started;
    assert.ok(waited < 5_000, `${waited.toFixed(0)} ms`);
    const pid = Number(await readFile(pidFile, 'utf8'));
    const alive = (): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let attempt = 0; attempt < 50 && alive(); attempt += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(alive(), false, `builder ${pid} still runs`);
  });
});
