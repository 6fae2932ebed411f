// The container's HEALTHCHECK: exit 0 when /healthz answers 200 within 4 s, 1 otherwise.
// No import, so a check costs little (Node strips the types). Reads
// PORT as the server does; always asks loopback (the check runs inside the container).
const port = Number.parseInt(process.env.PORT ?? '8080', 10);
const scheme = process.env.TLS_CERT_FILE ? 'https' : 'http';
try {
  // A self-signed or internal certificate is expected inside the container: the check is
  // about the process answering, not about the certificate (clients verify that).
  if (scheme === 'https') process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  const response = await fetch(`${scheme}://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(4000) });
  process.exitCode = response.status === 200 ? 0 : 1;
} catch {
  process.exitCode = 1;
}
