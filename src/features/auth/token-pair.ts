import type { SessionAuthentication } from '../sessions/index.ts';
import type { AccessTokens } from '../tokens/index.ts';

export interface TokenPair {
  readonly accessToken: string;
  readonly expiresIn: number;
  readonly refreshToken: string;
}

export async function issueTokenPair(
  deps: { readonly tokens: AccessTokens },
  subject: { userId: string; sessionId: string; roles: readonly string[]; refreshToken: string; authentication: SessionAuthentication },
): Promise<TokenPair> {
  const access = await deps.tokens.issue({
    sub: subject.userId,
    sid: subject.sessionId,
    roles: subject.roles,
    amr: subject.authentication.amr,
    authTime: subject.authentication.authTime,
  });
  return { accessToken: access.token, expiresIn: access.expiresIn, refreshToken: subject.refreshToken };
}
