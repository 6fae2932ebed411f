// Turns every failure into RFC 9457 problem details. Fastify's own errors (bad JSON,
// oversized body, wrong content type, schema violations) are mapped to stable codes;
// anything unexpected becomes a generic 500 whose cause is only in the log.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isAppError, toProblem, type ErrorCode, type FieldProblem } from '../errors.ts';
import { databaseUnavailableReason } from '../db/unavailable.ts';
import { CounterStoreError } from '../limits/errors.ts';

const MAX_FIELD_PROBLEMS = 20;

interface ValidationIssue {
  instancePath?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

function fieldsOf(error: FastifyError): FieldProblem[] {
  const issues = (error.validation ?? []) as ValidationIssue[];
  const context = error.validationContext ?? 'body';
  return issues.slice(0, MAX_FIELD_PROBLEMS).map((issue) => {
    const extra = issue.params?.['additionalProperty'] ?? issue.params?.['missingProperty'];
    const tail = typeof extra === 'string' ? `/${extra.slice(0, 64)}` : '';
    return { field: `/${context}${issue.instancePath ?? ''}${tail}`.slice(0, 200), rule: (issue.keyword ?? 'invalid').slice(0, 64) };
  });
}

const STATUS_CODES: Partial<Record<number, ErrorCode>> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  431: 'headers_too_large',
  503: 'service_unavailable',
};

// Fastify's own 400s that name no schema rule: a field-free rule still tells a client that
// its body did not parse at all, rather than failing one field.
const FRAMEWORK_FIELDS: Readonly<Partial<Record<string, FieldProblem>>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { field: '/body', rule: 'json' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { field: '/body', rule: 'json' },
};

/** Maps any thrown value to the AppError that will be sent. */
export function toAppError(error: unknown): AppError {
  if (isAppError(error)) return error;
  // A limiter that cannot count (store full, Redis down) refuses (fails closed), as a retryable 503.
  if (error instanceof CounterStoreError && error.retryAfterSeconds !== null) {
    return new AppError('service_unavailable', { cause: error, detail: `rate-limit ${error.code}`, headers: { 'retry-after': String(error.retryAfterSeconds) } });
  }
  const fastifyError = error as Partial<FastifyError>;
  if (Array.isArray(fastifyError.validation)) {
    return new AppError('invalid_request', { fields: fieldsOf(error as FastifyError), cause: error });
  }
  const status = typeof fastifyError.statusCode === 'number' ? fastifyError.statusCode : 500;
  const code = status >= 400 && status < 500 ? (STATUS_CODES[status] ?? 'invalid_request') : undefined;
  const field = typeof fastifyError.code === 'string' ? FRAMEWORK_FIELDS[fastifyError.code] : undefined;
  return new AppError(code ?? 'internal_error', { cause: error, ...(field === undefined || code !== 'invalid_request' ? {} : { fields: [field] }) });
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, error: AppError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) void reply.header(name, value);
  return reply.code(error.statusCode).type('application/problem+json').send(toProblem(error, request.id));
}

// Long enough for the pool to reconnect after a restart or a failover, short enough that
// clients come back soon; the pool's connection timeout bounds each attempt anyway.
const DATABASE_RETRY_AFTER_SECONDS = '2';

/**
 * A database that cannot be reached (down, restarting, failing over) is a retryable 503,
 * not a 500: logged as a warning naming the kind of failure, never its message or URL.
 */
function databaseUnavailable(error: unknown, request: FastifyRequest): AppError | null {
  const reason = databaseUnavailableReason(error);
  if (reason === null) return null;
  request.log.warn({ reason }, 'database unavailable');
  return new AppError('service_unavailable', { cause: error, detail: `database unavailable: ${reason}`, headers: { 'retry-after': DATABASE_RETRY_AFTER_SECONDS } });
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request, reply) => {
    const outage = databaseUnavailable(error, request);
    if (outage !== null) return sendProblem(reply, request, outage);
    const appError = toAppError(error);
    if (appError.code === 'service_unavailable') {
      // An outage the dependency's own log already reports once (redis.ts): one short
      // warning per refused request, without a stack trace for every one of them.
      request.log.warn({ code: appError.code, detail: appError.detail }, 'request refused: dependency unavailable');
    } else if (appError.statusCode >= 500) {
      request.log.error({ err: error, code: appError.code }, 'request failed');
    } else if (appError.detail !== undefined) {
      request.log.info({ code: appError.code, detail: appError.detail }, 'request refused');
    }
    return sendProblem(reply, request, appError);
  });
}
