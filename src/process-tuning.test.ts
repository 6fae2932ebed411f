import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { missingTuning, SERVER_ENV, SERVER_NODE_FLAGS } from './process-tuning.ts';

const variables = Object.entries(SERVER_ENV).map(([name, value]) => `${name}=${value}`);
const tuning = [...variables, ...SERVER_NODE_FLAGS];

describe('process tuning', () => {
  it('every way of starting the server sets it: npm start and the #! line of the gatehouse command', async () => {
    const manifest: unknown = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
    assert.ok(typeof manifest === 'object' && manifest !== null && 'scripts' in manifest && 'bin' in manifest);
    const start = String((manifest.scripts as Record<string, unknown>)['start']);
    // The command is a JavaScript launcher that runs src/main.ts in its own process.
    const bin = String((manifest.bin as Record<string, unknown>)['gatehouse']);
    const shebang = (await readFile(new URL(`../${bin}`, import.meta.url), 'utf8')).split('\n', 1)[0] ?? '';
    assert.ok(shebang.startsWith('#!'), `${bin} has no #! line`);
    for (const item of tuning) {
      assert.ok(start.split(' ').includes(item), `npm start lacks ${item}`);
      assert.ok(shebang.split(' ').includes(item), `the #! line lacks ${item}`);
    }
  });

  it('names what a process was started without, from its flags, NODE_OPTIONS and environment', () => {
    assert.deepEqual(missingTuning([], {}, 'pglite'), [...SERVER_NODE_FLAGS, ...variables]);
    assert.deepEqual(missingTuning([...SERVER_NODE_FLAGS], { ...SERVER_ENV }, 'pglite'), []);
    assert.deepEqual(missingTuning([], { ...SERVER_ENV, NODE_OPTIONS: SERVER_NODE_FLAGS.join(' ') }, 'pglite'), []);
    assert.deepEqual(missingTuning([...SERVER_NODE_FLAGS], { MALLOC_ARENA_MAX: '8' }, 'pglite'), variables);
  });

  it('asks for the WebAssembly compiler flag only where PGlite runs', () => {
    assert.ok(SERVER_NODE_FLAGS.includes('--liftoff-only'));
    assert.ok(missingTuning(['--max-semi-space-size=8'], { ...SERVER_ENV }, 'pglite').includes('--liftoff-only'));
    assert.deepEqual(missingTuning(['--max-semi-space-size=8'], { ...SERVER_ENV }, 'postgres'), []);
    assert.deepEqual(missingTuning([], { ...SERVER_ENV }, 'postgres'), ['--max-semi-space-size=8']);
  });
});
