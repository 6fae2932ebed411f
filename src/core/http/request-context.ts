// Who is asking, as the audit trail records it: attached to every request once, at the
// root, so a feature never imports another feature's routes to learn it.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RequestContext } from '../audit/auditor.ts';
import { plainClientAddress } from './client-address.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The client address (after TRUST_PROXY), user agent and request id. */
    readonly auditContext: RequestContext & { ip: string };
  }
}

export function registerRequestContext(app: FastifyInstance): void {
  app.decorateRequest('auditContext', {
    getter(this: FastifyRequest): RequestContext & { ip: string } {
      // Recorded as the client's own address: an IPv4 client through an IPv6 socket as IPv4
      // (so that retention cuts it to its /24, not to nothing).
      return { ip: plainClientAddress(this.ip), userAgent: this.headers['user-agent'] ?? null, requestId: this.id };
    },
  });
}
