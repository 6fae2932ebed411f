// The built-in HTTPS listener (TLS_CERT_FILE / TLS_KEY_FILE): TLS 1.2 and 1.3 only, TLS
// 1.2 with forward-secret AEAD suites only (Mozilla's "intermediate" list), the server's
// order preferred. The certificate and key are read at start and again on SIGHUP: the new
// pair serves every connection opened afterwards, and connections already open go on
// undisturbed (Node's setSecureContext), so a renewed certificate needs no restart.
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer, type ServerOptions } from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import type { TLSConfig } from '../../config/transport-security.ts';
import type { Logger } from '../logging.ts';

const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const TLS_SETTINGS = { minVersion: 'TLSv1.2', ciphers: TLS12_CIPHERS, honorCipherOrder: true } as const satisfies ServerOptions;

/** The certificate chain and key, read from their files (PEM). */
export async function readTLSMaterial(tls: TLSConfig): Promise<Pick<SecureContextOptions, 'cert' | 'key'>> {
  const [cert, key] = await Promise.all([readFile(tls.certFile), readFile(tls.keyFile)]);
  return { cert, key };
}

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** Fastify's serverFactory for HTTPS: the server is typed as Fastify's default (an http.Server), whose interface https.Server shares. */
export function httpsServerFactory(material: Pick<SecureContextOptions, 'cert' | 'key'>): (handler: Handler) => Server {
  return (handler) => createServer({ ...TLS_SETTINGS, ...material }, handler);
}

/** Re-reads the files and serves new connections with them; a failed read keeps the current pair (and says why). */
export async function reloadTLS(server: Server, tls: TLSConfig, log: Logger): Promise<boolean> {
  try {
    const material = await readTLSMaterial(tls);
    (server as unknown as { setSecureContext(options: SecureContextOptions): void }).setSecureContext({ ...TLS_SETTINGS, ...material });
    log.info({ cert_file: tls.certFile }, 'TLS certificate reloaded');
    return true;
  } catch (error) {
    log.error({ err: error, cert_file: tls.certFile }, 'TLS certificate reload failed: the previous certificate stays');
    return false;
  }
}
