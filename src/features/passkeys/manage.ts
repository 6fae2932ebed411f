// The signed-in user's passkeys: register, rename, remove. Registering or removing one is
// a step-up action (routes.ts), audited with the user as target (dropping their cached
// MFA state on commit) and mailed to the owner. A first factor brings recovery codes,
// shown once; removing the last factor takes them away.
import type { AuditEvent, RequestContext } from '../../core/audit/auditor.ts';
import { AppError } from '../../core/errors.ts';
import type { AuthContext } from '../auth/index.ts';
import { enrolledFactors, firstFactorEnrolled, hasSecondFactor, mailOwner, removeRecoveryCodesIfNoFactor } from '../mfa/index.ts';
import { loadEmail } from '../users/index.ts';
import type { PasskeyRouteDeps } from './deps.ts';
import type { PasskeySummary } from './repo.ts';

function onUser(userId: string, action: string, details: Record<string, unknown>): AuditEvent {
  return { actor: { type: 'user', id: userId }, action, target: { type: 'user', id: userId }, outcome: 'success', details };
}

export async function passkeyRegistrationOptions(deps: PasskeyRouteDeps, auth: AuthContext): Promise<unknown> {
  const email = await loadEmail(deps.db, deps.keyring, auth.userId);
  if (email === null) throw new AppError('not_found', { detail: 'profile gone (deleted or shredded)' });
  return (await deps.passkeys.registrationOptions({ id: auth.userId, name: email })).options;
}

export async function registerPasskey(
  deps: PasskeyRouteDeps,
  auth: AuthContext,
  input: { readonly response: unknown; readonly name?: string },
  context: RequestContext,
): Promise<{ passkey: PasskeySummary; recoveryCodes: string[] | null }> {
  return deps.change(context, async ({ trx, audit, enqueue }) => {
    const first = !hasSecondFactor(await enrolledFactors(trx, auth.userId));
    const result = await deps.passkeys.verifyRegistration(trx, { userId: auth.userId, response: input.response, ...(input.name === undefined ? {} : { name: input.name }) });
    if (!result.ok) throw new AppError('invalid_request', { detail: `passkey registration refused: ${result.reason}`, fields: [{ field: '/body/response', rule: 'webauthn' }] });
    audit(onUser(auth.userId, 'passkey.registered', { passkey_id: result.passkey.id, device_type: result.passkey.deviceType, recovery_set_issued: first }));
    const amr = result.passkey.deviceType === 'multiDevice' ? 'swk' : 'hwk';
    const recoveryCodes = first ? await firstFactorEnrolled({ trx, audit }, auth, [amr], deps.clock()) : null;
    await mailOwner(deps, trx, enqueue, auth.userId, `A passkey ("${result.passkey.name}") was added to your account.`);
    return { passkey: result.passkey, recoveryCodes };
  });
}

export async function renamePasskey(deps: PasskeyRouteDeps, auth: AuthContext, passkeyId: string, name: string, context: RequestContext): Promise<void> {
  await deps.change(context, async ({ trx, audit }) => {
    if (!(await deps.passkeys.rename(trx, { userId: auth.userId, passkeyId, name }))) throw new AppError('not_found', { detail: 'no such passkey of this user (or a name refused)' });
    audit(onUser(auth.userId, 'passkey.renamed', { passkey_id: passkeyId }));
  });
}

export async function removePasskey(deps: PasskeyRouteDeps, auth: AuthContext, passkeyId: string, context: RequestContext): Promise<void> {
  await deps.change(context, async ({ trx, audit, enqueue }) => {
    if (!(await deps.passkeys.remove(trx, { userId: auth.userId, passkeyId }))) throw new AppError('not_found', { detail: 'no such passkey of this user' });
    const setRemoved = await removeRecoveryCodesIfNoFactor(trx, auth.userId);
    audit(onUser(auth.userId, 'passkey.removed', { passkey_id: passkeyId, recovery_set_removed: setRemoved }));
    await mailOwner(deps, trx, enqueue, auth.userId, 'A passkey was removed from your account.');
  });
}
