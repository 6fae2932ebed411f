// The end of every successful login (password alone, password and second factor, passkey):
// a session recording how the user authenticated, its audit record, then the token pair
// and a device token for the lockout (device-tokens.ts). Login, the second-factor step and
// passkey login all finish here, so a session is made one way.
import type { RequestContext } from '../../core/audit/auditor.ts';
import type { Change, Changes } from '../../core/change.ts';
import type { Clock } from '../../core/clock.ts';
import type { DB } from '../../core/db/database.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import { ADMIN_ROLE } from '../authorization/index.ts';
import { createSession, type SessionAuthentication, type SessionLifetimes } from '../sessions/index.ts';
import type { AccessTokens } from '../tokens/index.ts';
import type { IncidentFlags } from '../incident/index.ts';
import { AppError } from '../../core/errors.ts';
import type { UserWithRoles } from '../users/index.ts';
import type { DeviceTokens } from './device-tokens.ts';
import { issueTokenPair, type TokenPair } from './token-pair.ts';

export interface SignInDeps {
  readonly clock: Clock;
  /** Seals the new session's device data under the owner's key. */
  readonly keyring: Keyring;
  readonly lifetimes: SessionLifetimes;
  readonly tokens: AccessTokens;
  readonly deviceTokens: DeviceTokens;
  readonly change: Changes;
  /** Maintenance mode (features/incident): only an admin who proved a second factor gets a new session. */
  readonly incidentFlags: Pick<IncidentFlags, 'maintenance'>;
}

export interface SignIn {
  readonly user: UserWithRoles;
  /** RFC 8176 method references, e.g. `['pwd']`, `['mfa', 'otp', 'pwd']`, `['hwk', 'mfa']`. */
  readonly amr: readonly string[];
  /** For people and the audit trail: `password`, `password+totp`, `password+recovery_code`, `passkey`, ... */
  readonly method: string;
  /** The known device the login came from, kept in the new device token. */
  readonly deviceId: string | null;
}

export interface SignedIn extends TokenPair {
  readonly sessionId: string;
  readonly deviceToken: string;
}

export interface OpenedSession {
  readonly sessionId: string;
  readonly refreshToken: string;
  readonly authentication: SessionAuthentication;
}

/** Answers `maintenance_mode` to whoever may not sign in while it is on (the 503 says when to try again). */
export function maintenanceError(): AppError {
  return new AppError('maintenance_mode', { headers: { 'retry-after': '300' } });
}

/** During maintenance, whether this sign-in may open a session: an admin, with a second factor proved in it. */
export function mayOpenSessionDuringMaintenance(signIn: Pick<SignIn, 'user' | 'amr'>): boolean {
  return signIn.user.roles.includes(ADMIN_ROLE) && signIn.amr.includes('mfa');
}

/**
 * Creates the session and its audit record in the caller's change (a second-factor step
 * makes both beside its own writes). Every way of signing in ends here, so maintenance
 * mode is enforced here, whatever flow led in.
 */
export async function openSession(
  trx: DB,
  audit: Change['audit'],
  deps: Pick<SignInDeps, 'clock' | 'lifetimes' | 'keyring' | 'incidentFlags'>,
  signIn: SignIn,
  context: RequestContext & { readonly ip: string },
): Promise<OpenedSession> {
  if ((await deps.incidentFlags.maintenance()) && !mayOpenSessionDuringMaintenance(signIn)) throw maintenanceError();
  const now = deps.clock();
  const amr = [...new Set(signIn.amr)].sort();
  const created = await createSession(trx, deps.lifetimes, { userId: signIn.user.id, ip: context.ip, userAgent: context.userAgent, authMethod: signIn.method, amr, now }, deps.keyring);
  audit({
    actor: { type: 'user', id: signIn.user.id },
    action: 'auth.login_succeeded',
    target: { type: 'session', id: created.sessionId },
    outcome: 'success',
    // An admin's login is a security event of its own (webhooks send it).
    details: { method: signIn.method, amr, admin: signIn.user.roles.includes(ADMIN_ROLE) },
  });
  return { ...created, authentication: { amr, authTime: now } };
}

/** The tokens of a session opened by openSession, once its change has committed. */
export async function tokensFor(deps: Pick<SignInDeps, 'clock' | 'tokens' | 'deviceTokens'>, signIn: SignIn, session: OpenedSession): Promise<SignedIn> {
  const pair = await issueTokenPair(deps, {
    userId: signIn.user.id,
    sessionId: session.sessionId,
    roles: signIn.user.roles,
    refreshToken: session.refreshToken,
    authentication: session.authentication,
  });
  const deviceToken = deps.deviceTokens.issue(signIn.user.emailIndex, deps.clock(), signIn.deviceId ?? undefined);
  return { ...pair, sessionId: session.sessionId, deviceToken };
}

/** Opens a session in a change of its own and returns its tokens. */
export async function signIn(deps: SignInDeps, signIn: SignIn, context: RequestContext & { readonly ip: string }): Promise<SignedIn> {
  const session = await deps.change(context, ({ trx, audit }) => openSession(trx, audit, deps, signIn, context));
  return tokensFor(deps, signIn, session);
}

/** The JSON of a completed login (SignedInResponse in schemas.ts). */
export function signedInResponse(result: SignedIn): {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  session_id: string;
  device_token: string;
} {
  return {
    access_token: result.accessToken,
    token_type: 'Bearer',
    expires_in: result.expiresIn,
    refresh_token: result.refreshToken,
    session_id: result.sessionId,
    device_token: result.deviceToken,
  };
}
