// Builds the Fastify application from its pieces. Shared services arrive as one typed
// object; nothing here reads the environment or opens connections.
import { httpsServerFactory, readTLSMaterial } from './core/http/tls.ts';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config, TrustProxy } from './config/config.ts';
import type { Clock } from './core/clock.ts';
import type { Subscription } from './core/cache-broadcast.ts';
import type { SigningKeyWatch } from './features/tokens/watch-signing-keys.ts';
import type { Database } from './core/db/database.ts';
import { createClientErrorHandling } from './core/http/client-errors.ts';
import { registerCors } from './core/http/cors.ts';
import { registerErrorHandling } from './core/http/errors.ts';
import { routeFrameworkError } from './core/http/framework-errors.ts';
import { registerNotFound } from './core/http/not-found.ts';
import { registerOpenAPI } from './core/http/openapi.ts';
import { registerRateLimits } from './core/http/rate-limit.ts';
import { registerRequestContext } from './core/http/request-context.ts';
import { REQUEST_ID_HEADER, requestIdFor } from './core/http/request-id.ts';
import { registerRequestLog } from './core/http/request-log.ts';
import { enforceRoutePolicy } from './core/http/route-policy.ts';
import { registerSecurityHeaders, securityHeaders } from './core/http/security-headers.ts';
import { registerWellFormedInput } from './core/http/well-formed-input.ts';
import type { Logger } from './core/logging.ts';
import { registerHTTPMetrics } from './core/metrics/http-metrics.ts';
import { registerAuthentication } from './features/auth/authenticate.ts';
import { isPermission } from './features/authorization/permissions.ts';
import { adminRoleRoutes } from './features/admin/roles-routes.ts';
import { adminUserRoutes } from './features/admin/users-routes.ts';
import { auditTrailRoutes } from './features/audit-trail/routes.ts';
import { databaseStore, directoryStore } from './features/files/index.ts';
import { filesRoutes } from './features/files/routes.ts';
import { healthRoutes } from './features/health/routes.ts';
import { incidentRoutes } from './features/incident/routes.ts';
import { loginRoutes } from './features/login/routes.ts';
import { metricsRoutes } from './features/metrics/routes.ts';
import { mfaRoutes } from './features/mfa/routes.ts';
import { passkeyRoutes } from './features/passkeys/routes.ts';
import { recoveryRoutes } from './features/recovery/routes.ts';
import { registrationRoutes } from './features/registration/routes.ts';
import { sessionRoutes } from './features/sessions/routes.ts';
import { privacyRoutes } from './features/privacy/routes.ts';
import { settingsRoutes } from './features/settings/routes.ts';
import { jwksRoutes } from './features/tokens/jwks-routes.ts';
import { verificationRoutes } from './features/verification/routes.ts';
import type { Services } from './services.ts';
import { registerWebApp } from './web/routes.ts';
import { VERSION } from './version.ts';
import type { RedisClient } from './core/redis.ts';

export interface AppDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly database: Database;
  readonly redis: RedisClient | null;
  readonly clock: Clock;
  readonly services: Services;
  /** The browser app's build (web/dist); without it the server answers the API alone. */
  readonly webApp?: { readonly dist: string } | null;
}

export type App = FastifyInstance;

// A hop count means: trust that many proxies nearest to this server, and no others.
function fastifyTrustProxy(setting: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof setting === 'number') return (_address, hop) => hop < setting;
  return typeof setting === 'boolean' ? setting : [...setting];
}

export async function buildApp(deps: AppDeps): Promise<App> {
  const { config } = deps;
  // Widened to Fastify's logger interface so the instance keeps Fastify's default generics.
  const logger: FastifyBaseLogger = deps.log;
  const https = config.publicURL.startsWith('https:');
  const clientErrors = createClientErrorHandling({ log: deps.log, headers: securityHeaders({ https }) });
  const tls = config.tls === null ? null : await readTLSMaterial(config.tls);
  const app = Fastify({
    ...(tls === null ? {} : { serverFactory: httpsServerFactory(tls) }),
    loggerInstance: logger,
    // Fastify's own per-request lines are off: request-log.ts writes one line per request.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId: requestIdFor,
    bodyLimit: config.bodyLimitBytes,
    trustProxy: fastifyTrustProxy(config.trustProxy),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    requestTimeout: 30_000,
    routerOptions: { maxParamLength: 256 },
    frameworkErrors: routeFrameworkError,
    clientErrorHandler: clientErrors.handle,
    ajv: {
      // Unknown fields are an error (400), never silently dropped; all errors are not
      // collected, so a hostile body costs one failed check.
      customOptions: { removeAdditional: false, allErrors: false, coerceTypes: 'array', useDefaults: true },
    },
  });

  // The API speaks JSON only; anything else is a 415 rather than a string to validate.
  app.removeContentTypeParser('text/plain');
  enforceRoutePolicy(app, { isPermission });
  app.addHook('onRequest', async (request, reply) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
  });
  registerRequestContext(app);
  registerRequestLog(app);
  registerHTTPMetrics(app, deps.services.metrics);
  registerErrorHandling(app);
  registerWellFormedInput(app);
  registerSecurityHeaders(app, { https });
  await registerCors(app, config.cors);
  const { auth, signingKeys, metrics, rateLimits } = deps.services;
  const limits = registerRateLimits(app, {
    global: { max: config.rateLimit.max, windowMs: config.rateLimit.windowSeconds * 1000 },
    stores: rateLimits.stores,
    emailIndex: (email) => auth.blindIndex.email(email),
    signedInUser: (request) => request.auth?.userId ?? null,
  });
  // Behind a proxy the socket's peer is the proxy, not the client: counting it would spend
  // every client's budget. (A proxy enforces its own header limits in front of ours.)
  if (config.trustProxy === false || config.trustProxy === 0) clientErrors.countWith(limits.countAddress);
  registerNotFound(app);
  await registerOpenAPI(app, { publicURL: config.publicURL, version: VERSION });

  // Uploaded files' contents: in their database rows, or in FILES_DIR (features/files).
  const fileStore = config.uploads.filesDir === null ? databaseStore() : directoryStore(config.uploads.filesDir);
  registerAuthentication(app, {
    tokens: auth.tokens,
    sessions: auth.sessionGate,
    authorizer: auth.authorizer,
    secondFactors: auth.secondFactorRequirement,
    cookies: { accessToken: (request) => auth.browserSessions.accessToken(request), checkSession: (request, sessionId) => { auth.browserSessions.guard.checkSession(request, sessionId); } },
    clock: deps.clock,
    reauthMaxAge: auth.reauthMaxAge,
  });
  // Other instances' committed changes drop this one's cached entries while it serves.
  const broadcast = deps.services.cacheBroadcast;
  if (broadcast !== null) {
    let subscription: Subscription | null = null;
    app.addHook('onReady', async () => { subscription = broadcast.subscribe(); });
    app.addHook('onClose', async () => { await subscription?.close(); });
  }
  // Without a message (no Redis, or one lost), a withdrawn signing key is noticed within 5 s.
  let signingKeyWatch: SigningKeyWatch | null = null;
  app.addHook('onReady', async () => { signingKeyWatch = deps.services.watchSigningKeys(); });
  app.addHook('onClose', async () => { await signingKeyWatch?.close(); });
  await app.register(healthRoutes, { database: deps.database, redis: deps.redis, clock: deps.clock });
  await app.register(jwksRoutes, { keys: signingKeys });
  // Each flow's plugin gets the one account-services object, typed by the flow as the
  // few fields it uses (its deps.ts).
  await app.register(registrationRoutes, { deps: auth, limits: rateLimits.auth });
  await app.register(verificationRoutes, { deps: auth, limits: rateLimits.auth });
  await app.register(loginRoutes, { deps: auth, limits: rateLimits.auth });
  await app.register(mfaRoutes, { deps: auth, requirement: auth.secondFactorRequirement, browser: auth.browserSessions, limits: rateLimits.auth });
  await app.register(passkeyRoutes, { deps: auth, limits: rateLimits.auth });
  await app.register(sessionRoutes, { deps: auth, limits: rateLimits.auth });
  await app.register(recoveryRoutes, { deps: auth, limits: rateLimits.auth });
  await app.register(settingsRoutes, { deps: auth, limits: rateLimits.auth });
  await app.register(adminUserRoutes, { deps: auth });
  await app.register(privacyRoutes, { deps: auth, limits: rateLimits.auth, graceDays: config.auth.accountDeletionGraceDays, fileStore });
  await app.register(filesRoutes, { deps: auth, store: fileStore, uploads: config.uploads, metrics });
  await app.register(adminRoleRoutes, { deps: auth });
  await app.register(incidentRoutes, { deps: auth });
  await app.register(metricsRoutes, { registry: metrics.registry, token: config.metricsToken });
  await app.register(auditTrailRoutes, { deps: auth, keys: deps.services.loadAuditKeys });
  if (deps.webApp !== undefined && deps.webApp !== null) await registerWebApp(app, deps.webApp);
  return app;
}
