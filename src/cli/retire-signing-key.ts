// `gatehouse keys retire-signing KID --now`: the emergency counterpart of rotate-signing,
// for a signing key that leaked. The key is revoked in the database (final: never
// published, trusted or activated again), a new active key takes over if it was the
// active one, the change is audited (`signing_key.retired`), and every serving instance
// is told over Redis through the cache-invalidation channel; without Redis, or if the
// message is lost, each notices within WITHDRAWAL_CHECK_MS. Sessions are left alone.
import { whenRedisReady } from '../core/redis.ts';
import type { Runtime } from '../runtime.ts';
import { createServices, type Services } from '../services.ts';
import { KID_PATTERN } from '../features/tokens/signing-key-material.ts';
import { retireSigningKeyNow, type RetiredSigningKey } from '../features/tokens/signing-keys.ts';
import { WITHDRAWAL_CHECK_MS } from '../features/tokens/watch-signing-keys.ts';
import { CLI_ACTOR, CLI_CONTEXT } from '../core/audit/cli-actor.ts';

// The announcement goes out right after the commit, and Redis has no offline queue: give
// the connection this long to come up first. Past it the key is retired all the same.
const REDIS_READY_TIMEOUT_MS = 3_000;

export class RetireUsageError extends Error {}

/** The change: revoke and audit in one transaction. */
async function retire(runtime: Runtime, services: Services, kid: string): Promise<RetiredSigningKey> {
  return services.auth.change(CLI_CONTEXT, async ({ trx, audit }) => {
    const retired = await retireSigningKeyNow(trx, { keyring: runtime.keyring, clock: runtime.clock }, kid);
    if (retired.outcome === 'retired') {
      audit({
        actor: CLI_ACTOR,
        action: 'signing_key.retired',
        target: { type: 'signing_key', id: kid },
        outcome: 'success',
        details: { previous_state: retired.previousState, immediate: true, active_kid: retired.activeKid, next_kid: retired.nextKid },
      });
    }
    return retired;
  });
}

function describeNotice(told: { published: number; failed: number } | null): string {
  const seconds = WITHDRAWAL_CHECK_MS / 1000;
  if (told === null) return `no REDIS_URL: each instance notices within ${seconds} s`;
  if (told.failed > 0 || told.published === 0) return `not published over Redis (see the warning above): each instance notices within ${seconds} s`;
  return `every instance told over Redis (each also checks every ${seconds} s)`;
}

/**
 * Sets the KID apart from the options: a kid is 22 base64url characters, so one in 64
 * starts with '-', and an option parser would take it for an option (`Unknown option '-j'`).
 * No option of the command is 22 such characters long, so an argument that is is the KID.
 */
export function separateKid(argv: readonly string[]): { readonly kids: readonly string[]; readonly options: readonly string[] } {
  return { kids: argv.filter((argument) => KID_PATTERN.test(argument)), options: argv.filter((argument) => !KID_PATTERN.test(argument)) };
}

/** The KID argument, checked before anything is opened: 22 base64url characters, never anything else. */
export function parseKid(argument: string): string {
  if (!KID_PATTERN.test(argument)) throw new RetireUsageError(`${JSON.stringify(argument.slice(0, 64))} is not a signing key id (22 characters of A-Z, a-z, 0-9, - and _)`);
  return argument;
}

export async function retireSigningKeyCommand(runtime: Runtime, kid: string, write: (text: string) => void): Promise<number> {
  const services = await createServices(runtime);
  if (runtime.redis !== null) await whenRedisReady(runtime.redis, REDIS_READY_TIMEOUT_MS);
  const retired = await retire(runtime, services, kid);
  switch (retired.outcome) {
    case 'not_found':
      process.stderr.write(`gatehouse: no signing key ${kid}: nothing retired (the kids in use are in /.well-known/jwks.json)\n`);
      return 1;
    case 'already_retired':
      write(`signing key ${kid} is already retired (since ${retired.revokedAt.toISOString()}): nothing to do\n`);
      return 0;
    case 'retired': {
      const told = services.cacheBroadcast === null ? null : await services.cacheBroadcast.settled();
      write(
        `signing key ${kid} retired now (it was ${retired.previousState}): no longer published, no token signed by it verifies; ` +
          `active ${retired.activeKid}, next ${retired.nextKid}\n` +
          `${describeNotice(told)}\n` +
          'sessions are not signed out: their refresh tokens still work and get tokens under the new key. ' +
          'If refresh tokens may be stolen too, sign out every session as well (docs/operations.md "Retiring a leaked signing key").\n',
      );
      return 0;
    }
  }
}
