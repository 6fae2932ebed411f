// Certificates for TLS tests, made with openssl in a temp directory: a CA of the test's
// own and server certificates it signed for 127.0.0.1 and localhost (EC P-256, valid two
// days). Nothing leaves the directory; the caller removes it.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

function openssl(dir: string, ...args: string[]): Promise<unknown> {
  return run('openssl', args, { cwd: dir, timeout: 30_000 });
}

/** `<name>.crt` and `<name>.key` in `dir`: a self-signed CA. */
export async function makeCA(dir: string, name = 'ca'): Promise<{ readonly cert: string; readonly key: string }> {
  await openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=Gatehouse test CA ${name}`);
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

/** `<name>.crt` and `<name>.key` in `dir`: a server certificate signed by the CA `ca`, by default for 127.0.0.1 and localhost; its CN is `127.0.0.1 <name>`. */
export async function makeServerCertificate(dir: string, name: string, ca = 'ca', altNames = 'IP:127.0.0.1,DNS:localhost'): Promise<{ readonly cert: string; readonly key: string }> {
  await openssl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=127.0.0.1 ${name}`);
  await writeFile(join(dir, `${name}.ext`), `subjectAltName=${altNames}\n`);
  await openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}
