// `gatehouse users create --email E [--role R] [--name N]`. The password is read from
// stdin (piped) or typed at a prompt with echo off, never from argv, where `ps` and shell
// history would keep it. Users created here are verified: an operator vouches for them.
import { createInterface } from 'node:readline';
import { CLI_ACTOR, CLI_CONTEXT } from '../core/audit/cli-actor.ts';
import type { Runtime } from '../runtime.ts';
import { createServices } from '../services.ts';
import { createAccount } from '../features/users/create-account.ts';

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
  const result = await createAccount(auth, { ...input, password, emailVerified: true }, {
    actor: CLI_ACTOR,
    context: CLI_CONTEXT,
  });
  switch (result.kind) {
    case 'weak_password':
      process.stderr.write(`password refused: ${result.verdict.reasons.join(', ')}\n${result.verdict.suggestions.map((s) => `  - ${s}\n`).join('')}`);
      return 1;
    case 'unknown_role':
      process.stderr.write(`no role named ${JSON.stringify(result.role)} (see GET /v1/admin/roles)\n`);
      return 1;
    case 'email_taken':
      process.stderr.write('a user with this email already exists\n');
      return 1;
    case 'created':
      process.stdout.write(`created user ${result.id} with roles ${result.roles.join(', ')}\n`);
      return 0;
  }
}
