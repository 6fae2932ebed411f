// METRICS_PORT: /metrics for a scraper on the same host, without a token. It listens on
// 127.0.0.1 only, whatever HOST says, so the token-free endpoint is never on a network
// interface. It also answers only requests addressed to a loopback name: a web page
// opened on this host could otherwise read it through DNS rebinding (its requests carry
// the attacker's host name). A bare node:http server: one path, nothing to configure.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { nodeHttp } from '../../core/http/node-http.ts';
import type { Logger } from '../../core/logging.ts';

const { createServer } = nodeHttp;

export const METRICS_HOST = '127.0.0.1';
const LOOPBACK_NAMES: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost']);

/** A registry, or the primary's sum of its workers' registries (cli/cluster.ts). */
export interface MetricsSource {
  metrics(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsListenerDeps {
  readonly registry: MetricsSource;
  readonly port: number;
  readonly log: Logger;
}

export interface MetricsListener {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

function sendText(response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  response.end(body);
}

function isLoopbackHost(header: string | undefined): boolean {
  return header !== undefined && LOOPBACK_NAMES.has(header.replace(/:\d{1,5}$/, '').toLowerCase());
}

function answer(deps: MetricsListenerDeps, request: IncomingMessage, response: ServerResponse): void {
  const [path] = (request.url ?? '').split('?');
  if (!isLoopbackHost(request.headers.host)) {
    sendText(response, 403, 'forbidden\n');
  } else if (path !== '/metrics') {
    sendText(response, 404, 'not found\n');
  } else if (request.method !== 'GET' && request.method !== 'HEAD') {
    sendText(response, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
  } else {
    deps.registry.metrics().then(
      (body) => { sendText(response, 200, body, { 'content-type': deps.registry.contentType }); },
      (error: unknown) => {
        deps.log.error({ err: error }, 'metrics collection failed');
        sendText(response, 500, 'internal error\n');
      },
    );
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: METRICS_HOST, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export async function startMetricsListener(deps: MetricsListenerDeps): Promise<MetricsListener> {
  const server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000 }, (request, response) => {
    answer(deps, request, response);
  });
  await listen(server, deps.port);
  return {
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        // Scrapers keep connections alive between scrapes; idle ones would hold close open.
        server.close(() => { resolve(); });
        server.closeIdleConnections();
      }),
  };
}
