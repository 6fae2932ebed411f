// `gatehouse users create --email E [--role R] [--name N]`. The password is read from
// stdin (piped) or typed at a prompt with echo off, never from argv, where `ps` and shell
// history would keep it. Users created here are verified: an operator vouches for them.
import { createInterface } from 'node:readline';
import type { Runtime } from '../runtime.ts';
import { createServices } from '../services.ts';
import { insertUser } from '../features/users/repo.ts';
import { DEFAULT_ROLE } from '../features/users/repo.ts';

const MAX_PASSWORD_INPUT = 4096;

async function readPiped(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_PASSWORD_INPUT) throw new Error('password input too long');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function prompt(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  // Replace echoed characters: readline writes through _writeToOutput.
  const muted = rl as unknown as { _writeToOutput: (text: string) => void };
  process.stderr.write(question);
  muted._writeToOutput = () => {};
  try {
    return await new Promise<string>((resolve) => {
      rl.question('', resolve);
    });
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

export async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) return readPiped();
  const first = await prompt('Password: ');
  const second = await prompt('Repeat password: ');
  if (first !== second) throw new Error('the passwords do not match');
  return first;
}

export async function createUserCommand(runtime: Runtime, input: { email: string; name: string | null; roles: string[] }): Promise<number> {
  const password = await readPassword();
  const { auth } = await createServices(runtime);
  const verdict = auth.policy.check(password, { email: input.email, name: input.name });
  if (!verdict.ok) {
    process.stderr.write(`password refused: ${verdict.reasons.join(', ')}\n${verdict.suggestions.map((s) => `  - ${s}\n`).join('')}`);
    return 1;
  }
  const passwordHash = await auth.passwords.hash(password);
  const now = runtime.clock();
  const roles = [...new Set([DEFAULT_ROLE, ...input.roles])];
  const userId = await auth.db.transaction().execute(async (trx) => {
    const id = await insertUser(trx, auth, { email: input.email, name: input.name, passwordHash, emailVerified: true, roles, now });
    if (id !== null) {
      await auth.audit.record(trx, { ip: null, userAgent: 'gatehouse-cli', requestId: null }, {
        actor: { type: 'system', id: 'cli' },
        action: 'user.created',
        target: { type: 'user', id },
        outcome: 'success',
        details: { roles },
      });
    }
    return id;
  });
  if (userId === null) {
    process.stderr.write('a user with this email already exists\n');
    return 1;
  }
  process.stdout.write(`created user ${userId} with roles ${roles.join(', ')}\n`);
  return 0;
}
