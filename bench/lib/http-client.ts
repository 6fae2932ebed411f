// A lean keep-alive HTTP/1.1 client for load generation on 127.0.0.1: node:http with one
// pooled socket per virtual client, the body read whole as text. Leaner than fetch, so
// the generator spends less of the shared CPU than the server it measures.
import { Agent, request as httpRequest, type OutgoingHttpHeaders } from 'node:http';

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
}

export interface HttpClient {
  request(method: 'GET' | 'POST', path: string, options?: { headers?: OutgoingHttpHeaders; json?: unknown }): Promise<HttpResponse>;
  close(): void;
}

export function createHttpClient(baseURL: string, options: { maxSockets: number }): HttpClient {
  const url = new URL(baseURL);
  if (url.hostname !== '127.0.0.1') throw new Error('the benchmark only sends traffic to 127.0.0.1');
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets, maxFreeSockets: options.maxSockets });
  return {
    request(method, path, { headers = {}, json } = {}) {
      const body = json === undefined ? null : JSON.stringify(json);
      const allHeaders: OutgoingHttpHeaders = body === null ? headers : { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
      return new Promise((resolve, reject) => {
        const req = httpRequest({ agent, host: url.hostname, port: url.port, method, path, headers: allHeaders }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body ?? undefined);
      });
    },
    close() {
      agent.destroy();
    },
  };
}
