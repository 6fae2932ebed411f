// `gatehouse keys rotate-audit` stopped after one of its steps, for
// audit-key-rotation.fault.test.ts to kill there with SIGKILL: the same command code, with
// the test-only pause hook (rotateAuditKeyCommand) waiting forever at the step named in
// argv[2] once it has said so on stdout.
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/core/logging.ts';
import { rotateAuditKeyCommand } from '../../src/cli/rotate-audit-key.ts';
import { openRuntime } from '../../src/runtime.ts';

const stopAt = process.argv[2];
const runtime = await openRuntime(loadConfig(process.env), createLogger({ level: 'warn' }), { migrate: false });
await rotateAuditKeyCommand(runtime, {
  async pause(step) {
    if (step !== stopAt) return;
    process.stdout.write(`paused after ${step}\n`);
    await new Promise(() => setInterval(() => undefined, 60_000));
  },
});
process.stdout.write('not paused\n');
await runtime.close();
