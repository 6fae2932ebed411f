// The answer of a completed login, by mode: bearer clients get the tokens in the body;
// browsers in cookie mode get them as cookies and a body without any token.
import type { FastifyReply } from 'fastify';
import type { Static } from 'typebox';
import { signedInResponse, type CookieSessionResponse, type SignedIn } from '../auth/index.ts';
import type { BrowserSessions } from './browser-sessions.ts';

export function respondSignedIn(
  browser: BrowserSessions,
  reply: FastifyReply,
  result: SignedIn,
  options: { readonly cookieMode: boolean },
): ReturnType<typeof signedInResponse> | Static<typeof CookieSessionResponse> {
  if (!options.cookieMode) return signedInResponse(result);
  browser.signIn(reply, { accessToken: result.accessToken, refreshToken: result.refreshToken, sessionId: result.sessionId, deviceToken: result.deviceToken });
  return { token_type: 'cookie', session_id: result.sessionId, expires_in: result.expiresIn };
}
