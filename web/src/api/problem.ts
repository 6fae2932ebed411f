// Every failed call becomes one Problem: the server's RFC 9457 body when it sent one, or a
// problem of the client's own when the server could not be reached or answered something
// that is not a problem (a proxy's HTML error page, say).
export interface FieldProblem {
  /** JSON pointer of the input, e.g. `/body/email`; never its value. */
  readonly field: string;
  readonly rule: string;
}

export interface Problem {
  /** A code of docs/errors.md, or `network_error` / `unexpected_response` from this client. */
  readonly code: string;
  readonly status: number;
  readonly title: string;
  readonly requestId: string | null;
  readonly fields: readonly FieldProblem[];
  /** Password advice from the server's policy; safe to show. */
  readonly suggestions: readonly string[];
  /** Seconds, from `Retry-After`. */
  readonly retryAfter: number | null;
}

export type Outcome<T> = { readonly ok: true; readonly data: T } | { readonly ok: false; readonly problem: Problem };

function clientProblem(code: 'network_error' | 'unexpected_response', status: number): Problem {
  return { code, status, title: '', requestId: null, fields: [], suggestions: [], retryAfter: null };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function fieldsOf(value: unknown): FieldProblem[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isRecord).flatMap((item) => (typeof item['field'] === 'string' && typeof item['rule'] === 'string' ? [{ field: item['field'], rule: item['rule'] }] : []));
}

function retryAfterOf(response: Response): number | null {
  const seconds = Number.parseInt(response.headers.get('retry-after') ?? '', 10);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

/** The problem a failed response describes. */
export function problemOf(body: unknown, response: Response): Problem {
  if (!isRecord(body) || typeof body['code'] !== 'string') return clientProblem('unexpected_response', response.status);
  return {
    code: body['code'],
    status: response.status,
    title: typeof body['title'] === 'string' ? body['title'] : '',
    requestId: typeof body['request_id'] === 'string' ? body['request_id'] : null,
    fields: fieldsOf(body['errors']),
    suggestions: stringsOf(body['suggestions']),
    retryAfter: retryAfterOf(response),
  };
}

/** Awaits an API call (openapi-fetch's answer) and says whether it succeeded, never throwing. */
export async function settle<T>(pending: Promise<{ readonly data?: T; readonly error?: unknown; readonly response: Response }>): Promise<Outcome<T>> {
  let answer: { readonly data?: T; readonly error?: unknown; readonly response: Response };
  try {
    answer = await pending;
  } catch {
    return { ok: false, problem: clientProblem('network_error', 0) };
  }
  const { data, error, response } = answer;
  if (response.ok && error === undefined) return { ok: true, data: data as T };
  return { ok: false, problem: problemOf(error, response) };
}
