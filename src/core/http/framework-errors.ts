// Requests Fastify refuses before any route is found: a path that is not valid
// percent-encoding (FST_ERR_BAD_URL) or a path parameter over maxParamLength. Fastify
// answers these itself, outside the hooks: a plain JSON body with its internal code and
// the raw path echoed, no security headers, no request id, no log line, not counted by
// the rate limiter. Instead the refusal is remembered for the raw request, and the
// request is routed again under a path that matches no route, so it runs through the
// not-found handler's whole pipeline (request id, security headers, rate limit, error
// handler, request log, metrics) and is answered from there (see not-found.ts).
import type { IncomingMessage } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.ts';
import { toAppError } from './errors.ts';

// Matches no route: the not-found handler answers it, with the remembered refusal.
const REFUSED_PATH = '/.refused';

const refusals = new WeakMap<IncomingMessage, AppError>();

function refusalFor(error: FastifyError): AppError {
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      return new AppError('invalid_request', { detail: 'path is not valid percent-encoding', fields: [{ field: '/url', rule: 'encoding' }] });
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new AppError('uri_too_long', { detail: 'path parameter over maxParamLength', fields: [{ field: '/params', rule: 'maxLength' }] });
    default:
      return toAppError(error);
  }
}

/** Fastify's `frameworkErrors` option. */
export function routeFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  refusals.set(request.raw, refusalFor(error));
  request.raw.url = REFUSED_PATH;
  request.server.routing(request.raw, reply.raw);
}

/** The refusal remembered for a request that Fastify's router refused, if any. */
export function frameworkRefusalOf(raw: IncomingMessage): AppError | undefined {
  return refusals.get(raw);
}
