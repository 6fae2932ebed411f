// `gatehouse incident ...`: containment for an operator under pressure (docs/incident-containment.md).
// Each command goes through the same services as the server (services.ts), so its changes
// are audited, invalidate the caches and are announced to every serving instance over
// Redis; the command waits for those announcements before it disconnects. Every command
// says what it changed, and a repeat says that it changed nothing.
import { CLI_ACTOR, CLI_CONTEXT } from '../core/audit/cli-actor.ts';
import type { Runtime } from '../runtime.ts';
import { createServices, type Services } from '../services.ts';
import { AppError } from '../core/errors.ts';
import {
  describeScope,
  forcePasswordReset,
  readIncidentState,
  setIncidentSwitch,
  signOutSessions,
  type ContainmentActor,
  type ContainmentScope,
  type IncidentSwitch,
} from '../features/incident/index.ts';

const OPERATOR: ContainmentActor = { actor: CLI_ACTOR, context: CLI_CONTEXT };

type Write = (text: string) => void;

/** `on` or `off`, the only words the switches take. */
export function parseSwitchState(word: string | undefined): boolean | null {
  if (word === 'on') return true;
  if (word === 'off') return false;
  return null;
}

async function withServices(runtime: Runtime, write: Write, fn: (services: Services) => Promise<void>): Promise<number> {
  const services = await createServices(runtime);
  try {
    await fn(services);
    return 0;
  } catch (error) {
    // A scope naming nothing (no such role or user) is the operator's typo, not a failure.
    if (error instanceof AppError && error.code === 'not_found') {
      write(`nothing done: ${error.detail ?? 'not found'}\n`);
      return 1;
    }
    throw error;
  } finally {
    // Other instances hear of the change over Redis; a disconnect now would drop the message.
    await services.cacheBroadcast?.settled();
  }
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

export async function signOutCommand(runtime: Runtime, scope: ContainmentScope, write: Write): Promise<number> {
  return withServices(runtime, write, async ({ auth }) => {
    const { revoked } = await signOutSessions(auth, OPERATOR, scope);
    write(revoked === 0
      ? `sign-out (${describeScope(scope)}): no live session; nothing changed\n`
      : `sign-out (${describeScope(scope)}): ${plural(revoked, 'session')} revoked\n`);
  });
}

export async function forcePasswordResetCommand(runtime: Runtime, scope: ContainmentScope, options: { notify: boolean }, write: Write): Promise<number> {
  return withServices(runtime, write, async ({ auth }) => {
    const result = await forcePasswordReset(auth, OPERATOR, scope, options);
    if (result.marked === 0) {
      write(`force-password-reset (${describeScope(scope)}): every user already required a reset; nothing changed\n`);
      return;
    }
    const mailed = options.notify ? `, ${plural(result.notified, 'reset mail')} queued` : '';
    write(`force-password-reset (${describeScope(scope)}): ${plural(result.marked, 'user')} must reset their password, ${plural(result.sessionsRevoked, 'session')} revoked${mailed}\n`);
  });
}

const SWITCH_NAMES: Readonly<Record<IncidentSwitch, { readonly on: string; readonly off: string }>> = {
  registration: { on: 'registration frozen', off: 'registration open' },
  maintenance: { on: 'maintenance on (new logins refused, admins with a second factor excepted)', off: 'maintenance off' },
};

export async function switchCommand(runtime: Runtime, which: IncidentSwitch, on: boolean, write: Write): Promise<number> {
  return withServices(runtime, write, async ({ auth }) => {
    const { changed } = await setIncidentSwitch(auth, OPERATOR, which, on);
    const state = on ? SWITCH_NAMES[which].on : SWITCH_NAMES[which].off;
    write(changed ? `${state}\n` : `${state} already; nothing changed\n`);
  });
}

export async function statusCommand(runtime: Runtime, write: Write): Promise<number> {
  const state = await readIncidentState(runtime.database.db);
  const marked = await runtime.database.db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('password_reset_required_at', 'is not', null)
    .executeTakeFirstOrThrow();
  // What tokens are signed with and which keys are still published (for a retired, stolen key).
  const keys = await runtime.database.db
    .selectFrom('signing_keys')
    .select(['kid', 'state', 'retired_at', 'publish_until'])
    .where((eb) => eb.or([eb('publish_until', 'is', null), eb('publish_until', '>', runtime.clock())]))
    .orderBy('created_at')
    .execute();
  const since = (date: Date | null): string => (date === null ? 'off' : `on since ${date.toISOString()}`);
  write(`registration frozen: ${since(state.registrationFrozenSince)}\nmaintenance:         ${since(state.maintenanceSince)}\nusers required to reset their password: ${Number(marked.count)}\nsigning keys:\n`);
  for (const key of keys) {
    const until = key.publish_until === null ? '' : `, published until ${key.publish_until.toISOString()}`;
    write(`  ${key.kid} ${key.state}${key.retired_at === null ? '' : ` (retired ${key.retired_at.toISOString()})`}${until}\n`);
  }
  return 0;
}
