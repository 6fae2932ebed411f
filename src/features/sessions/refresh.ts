// Refresh-token rotation with reuse detection (OAuth 2.0 Security BCP §4.14): a token
// presented twice means it was copied, so the whole session ends, and the event is
// audited. The one exception is a retry: the same token again within the reuse interval
// (REFRESH_TOKEN_REUSE_INTERVAL_SECONDS), while its successor is still the session's
// current token, gets that same successor back (and a fresh access token for the same
// session), because a lost response or a second browser tab is not a theft. A routine
// refresh is not audited; it only moves the session's last use.
import type { RequestContext } from '../../core/audit/auditor.ts';
import { AppError } from '../../core/errors.ts';
import { issueTokenPair, type TokenPair } from '../auth/index.ts';
import type { SessionsDeps } from './deps.ts';
import { revokeSession, rotateRefreshToken } from './repo.ts';

export async function refresh(deps: SessionsDeps, token: string, context: RequestContext): Promise<TokenPair & { sessionId: string }> {
  const now = deps.clock();
  // One statement, atomic by itself: no explicit transaction, no separate roles query.
  const result = await rotateRefreshToken(deps.db, { lifetimes: deps.lifetimes, rotation: deps.refreshRotation }, token, now);
  if (result.kind === 'reused') {
    await deps.change(context, async ({ trx, audit }) => {
      await revokeSession(trx, result.userId, result.sessionId, 'refresh_token_reuse', now);
      audit({
        actor: { type: 'anonymous' },
        action: 'token.reuse_detected',
        target: { type: 'session', id: result.sessionId },
        outcome: 'denied',
        details: { user_id: result.userId },
      });
    });
    // Says why (so a client knows to sign in again rather than retry), nothing more.
    throw new AppError('refresh_token_reused', { detail: `refresh token reused, session ${result.sessionId} revoked` });
  }
  if (result.kind === 'invalid') throw new AppError('invalid_token', { detail: 'refresh invalid' });
  const pair = await issueTokenPair(deps, { userId: result.userId, sessionId: result.sessionId, roles: result.roles, refreshToken: result.refreshToken, authentication: result.authentication });
  return { ...pair, sessionId: result.sessionId };
}
