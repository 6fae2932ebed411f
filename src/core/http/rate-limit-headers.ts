// How a limit is reported to the client, in the fields of the IETF draft "RateLimit
// header fields for HTTP" (draft-ietf-httpapi-ratelimit-headers, structured fields):
//
//   RateLimit-Policy: "auth-account";q=10;w=900     the limit: its quota and window (s)
//   RateLimit: "auth-account";r=0;t=412             what is left now, and seconds to the reset
//
// plus, for clients of earlier releases, the draft-06 fields that @fastify/rate-limit
// sent (RateLimit-Limit, -Remaining, -Reset), describing the same limit. A refusal adds
// Retry-After, equal to `t`, so it never points before the end of the effective window.
//
// One limit is reported per response: on a refusal the one that refused; otherwise the
// most restrictive of those the request drew on, the one with the fewest requests left
// (on a tie, the one whose window ends last), since it is the one that will refuse
// first. No partition key (`pk`) is sent: the keys are addresses and blind indexes of
// email addresses, which a response has no reason to echo.
import type { LimitDecision } from '../limits/limiter.ts';

export interface ReportedLimit {
  readonly name: string;
  readonly max: number;
  readonly windowMs: number;
}

export interface LimitReport {
  readonly limit: ReportedLimit;
  readonly decision: LimitDecision;
}

/** True when `next` should be reported instead of `current`. */
export function isMoreRestrictive(next: LimitReport, current: LimitReport | null): boolean {
  if (current === null) return true;
  if (next.decision.remaining !== current.decision.remaining) return next.decision.remaining < current.decision.remaining;
  return next.decision.resetSeconds > current.decision.resetSeconds;
}

export function rateLimitHeaders(report: LimitReport): Record<string, string> {
  const { limit, decision } = report;
  // Limit names are tokens of letters, digits, `_`, `.` and `-` (limiter.ts): a valid sf-string as is.
  const name = `"${limit.name}"`;
  const headers: Record<string, string> = {
    'ratelimit-policy': `${name};q=${limit.max};w=${Math.ceil(limit.windowMs / 1000)}`,
    ratelimit: `${name};r=${decision.remaining};t=${decision.resetSeconds}`,
    'ratelimit-limit': String(limit.max),
    'ratelimit-remaining': String(decision.remaining),
    'ratelimit-reset': String(decision.resetSeconds),
  };
  if (!decision.allowed) headers['retry-after'] = String(decision.retryAfterSeconds);
  return headers;
}
