// What `gatehouse keys rotate-signing` runs. Safe while instances serve: each picks up
// the new active key within its refresh interval, and tokens signed by the old key keep
// verifying until they expire. Relying parties that cache the JWKS for five minutes
// already hold the new active key, since it was published as `next` one rotation ago;
// rotating twice within five minutes skips that grace, so avoid it unless the old key
// is compromised (then `keys retire-signing KID --now`). The rotation and its audit record
// (`signing_key.rotated`, also a security webhook) are one transaction.
import type { Runtime } from '../runtime.ts';
import { createServices } from '../services.ts';
import { rotateSigningKeys, type RotatedSigningKeys } from '../features/tokens/signing-keys.ts';
import { CLI_ACTOR, CLI_CONTEXT } from '../core/audit/cli-actor.ts';

export async function rotateSigningKeysCommand(runtime: Runtime): Promise<RotatedSigningKeys> {
  const services = await createServices(runtime);
  const deps = { keyring: runtime.keyring, clock: runtime.clock, accessTokenTtlSeconds: runtime.config.auth.accessTokenTtl };
  return services.auth.change(CLI_CONTEXT, async ({ trx, audit }) => {
    const rotated = await rotateSigningKeys(trx, deps);
    audit({
      actor: CLI_ACTOR,
      action: 'signing_key.rotated',
      target: { type: 'signing_key', id: rotated.activeKid },
      outcome: 'success',
      details: { active_kid: rotated.activeKid, next_kid: rotated.nextKid, retired_kid: rotated.retiredKid },
    });
    return rotated;
  });
}
