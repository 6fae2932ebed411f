// Enrolling and removing second factors (the settings side of MFA). Every change here is
// a step-up action (routes.ts), audited with the user as target (which drops their cached
// MFA state on commit), and mailed to the owner, so a thief who adds or removes a factor
// is seen. A TOTP enrolment becomes a factor only once a code from it is verified; that
// first factor brings the recovery codes, shown once.
import { lazyModule } from '../../core/lazy-module.ts';
import type { AuditEvent, RequestContext } from '../../core/audit/auditor.ts';
import type { Change } from '../../core/change.ts';
import { AppError } from '../../core/errors.ts';
import type { AuthContext } from '../auth/index.ts';
import { secondFactorChangedMail } from '../mail/index.ts';
import { addFirstFactorToSession } from '../sessions/index.ts';
import { loadEmail } from '../users/index.ts';
import type { MfaDeps } from './deps.ts';
import { enrolledFactors, hasSecondFactor } from './factors.ts';
import { replaceRecoveryCodes } from './recovery-codes.ts';
import { claimTotpStep, deleteTotp, loadTotp, saveTotpEnrolment } from './repo.ts';
import { createTotpSecret, matchTotp, totpURI } from './totp.ts';

// Loaded on the first enrolment, not at start.
const qrcode = lazyModule(() => import('qrcode'));

export interface TotpEnrolment {
  /** Base32, for typing into an app by hand. */
  readonly secret: string;
  readonly uri: string;
  /** The URI as an SVG QR code (no script, no external reference: qrcode's output). */
  readonly qrSVG: string;
}

export async function mailOwner(deps: Pick<MfaDeps, 'keyring' | 'mail'>, trx: Change['trx'], enqueue: Change['enqueue'], userId: string, text: string): Promise<void> {
  const email = await loadEmail(trx, deps.keyring, userId);
  if (email !== null) enqueue(deps.mail.job(secondFactorChangedMail(email, text), { userId, essential: true }));
}

function onUser(userId: string, action: string, details: Record<string, unknown> = {}): AuditEvent {
  return { actor: { type: 'user', id: userId }, action, target: { type: 'user', id: userId }, outcome: 'success', details };
}

export async function startTotpEnrolment(deps: MfaDeps, auth: AuthContext, context: RequestContext): Promise<TotpEnrolment> {
  const secret = createTotpSecret();
  const email = await deps.change(context, async ({ trx, audit }) => {
    const account = await loadEmail(trx, deps.keyring, auth.userId);
    if (account === null || !(await saveTotpEnrolment(trx, deps.keyring, auth.userId, secret, deps.clock()))) {
      throw new AppError('conflict', { detail: 'totp already confirmed (remove it first) or data key gone' });
    }
    audit(onUser(auth.userId, 'mfa.totp_enrolment_started'));
    return account;
  });
  const uri = totpURI(secret, { issuer: new URL(deps.publicURL).host, account: email });
  return { secret: secret.base32, uri, qrSVG: await (await qrcode()).default.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }) };
}

/**
 * Confirms the pending TOTP enrolment with a code from it. The code proves the second
 * factor in this session too, so the session becomes a second-factor one (an admin who
 * must enrol can then administer at once: the server reads the session; the access
 * token's amr and auth_time claims catch up at the next refresh). Returns the recovery codes when this
 * is the account's first factor.
 */
export async function confirmTotp(deps: MfaDeps, auth: AuthContext, code: string, context: RequestContext): Promise<{ recoveryCodes: string[] | null }> {
  const now = deps.clock();
  const pending = await loadTotp(deps.db, deps.keyring, auth.userId);
  if (pending === null || pending.confirmed) throw new AppError('conflict', { detail: 'no pending totp enrolment' });
  const step = matchTotp(pending.secret, code, now);
  if (step === null) throw new AppError('invalid_mfa_code', { detail: 'enrolment code wrong' });
  return deps.change(context, async ({ trx, audit, enqueue }) => {
    const first = !hasSecondFactor(await enrolledFactors(trx, auth.userId));
    if (!(await claimTotpStep(trx, auth.userId, step, { confirm: { at: now, sealed: pending.sealed } }))) {
      throw new AppError('invalid_mfa_code', { detail: 'enrolment restarted meanwhile, or code reused' });
    }
    audit(onUser(auth.userId, 'mfa.totp_enabled', { recovery_set_issued: first }));
    const recoveryCodes = first ? await firstFactorEnrolled({ trx, audit }, auth, ['otp'], now) : null;
    await mailOwner(deps, trx, enqueue, auth.userId, 'An authenticator app (TOTP) was added as a second factor to your account.');
    return { recoveryCodes };
  });
}

/**
 * The account's first factor: its recovery codes, and the session it was enrolled in
 * becomes a second-factor session (its authentication time unchanged: a later factor, or
 * a factor replaced, proves nothing the account had, so it upgrades nothing).
 */
export async function firstFactorEnrolled(change: Pick<Change, 'trx' | 'audit'>, auth: AuthContext, amr: readonly string[], now: Date): Promise<string[]> {
  const codes = await replaceRecoveryCodes(change.trx, auth.userId, now);
  await addFirstFactorToSession(change.trx, auth, [...amr, 'mfa']);
  change.audit({ actor: { type: 'user', id: auth.userId }, action: 'session.upgraded', target: { type: 'session', id: auth.sessionId }, outcome: 'success', details: { amr: [...amr, 'mfa'] } });
  return codes;
}

/** Removes the TOTP factor; with it the last factor goes, the recovery codes go too. */
export async function removeTotp(deps: MfaDeps, auth: AuthContext, context: RequestContext): Promise<void> {
  await deps.change(context, async ({ trx, audit, enqueue }) => {
    if (!(await deleteTotp(trx, auth.userId))) throw new AppError('not_found', { detail: 'no totp factor' });
    const codesRemoved = await removeRecoveryCodesIfNoFactor(trx, auth.userId);
    audit(onUser(auth.userId, 'mfa.totp_removed', { recovery_set_removed: codesRemoved }));
    await mailOwner(deps, trx, enqueue, auth.userId, 'The authenticator app (TOTP) second factor was removed from your account.');
  });
}

/** Deletes the recovery codes when no factor is left for them to back up; true if it did. */
export async function removeRecoveryCodesIfNoFactor(trx: Change['trx'], userId: string): Promise<boolean> {
  if (hasSecondFactor(await enrolledFactors(trx, userId))) return false;
  await trx.deleteFrom('mfa_recovery_codes').where('user_id', '=', userId).execute();
  return true;
}

/** A new set of recovery codes; the old set stops working in the same transaction. */
export async function regenerateRecoveryCodes(deps: MfaDeps, auth: AuthContext, context: RequestContext): Promise<string[]> {
  return deps.change(context, async ({ trx, audit, enqueue }) => {
    if (!hasSecondFactor(await enrolledFactors(trx, auth.userId))) throw new AppError('conflict', { detail: 'recovery codes need a second factor' });
    const codes = await replaceRecoveryCodes(trx, auth.userId, deps.clock());
    audit(onUser(auth.userId, 'mfa.recovery_codes_regenerated'));
    await mailOwner(deps, trx, enqueue, auth.userId, 'New recovery codes were made for your account; the old ones no longer work.');
    return codes;
  });
}
