// The attacks file uploads must resist, each named: an oversized body (cut at the limit,
// never read whole), a script or page renamed .png, a polyglot, a lying Content-Type,
// path traversal and control characters in the name, a photo's GPS position kept, a
// decompression bomb, another user's file id (IDOR), filling the disk (quota) or the
// server (rate limit), and a download a browser would render.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { testEngines, type TestDatabase } from '../../../test/helpers/database.ts';
import { createSignedIn, createUser, GENEROUS_LIMITS, signIn } from '../../../test/security/authz.fixtures.ts';
import { mfaAppPerSuite } from '../mfa/mfa.fixtures.ts';
import { BOUNDARY, endlessUpload, get, jpegWithGPS, MINIMAL_PDF, MULTIPART, partHead, png, pngBomb, pngHTMLPolyglot, upload } from './files.fixtures.ts';

const MAX_BYTES = 256 * 1024;
const ENV = { UPLOAD_MAX_BYTES: String(MAX_BYTES), UPLOAD_QUOTA_BYTES: String(1024 * 1024), UPLOAD_RATE_LIMIT_MAX: '1000' };

for (const engine of testEngines()) {
  describe(`file upload attacks on ${engine.engine}`, () => {
    const suite = mfaAppPerSuite(engine, ENV);
    const tokenFor = async (label: string): Promise<{ id: string; token: string }> => {
      const user = await createUser(suite.test, { label });
      return { id: user.id, token: (await signIn(suite.test, user)).access_token };
    };

    it('an oversized body is cut at the limit: 413 with Connection: close, the rest never read', async () => {
      const { token } = await tokenFor('files-huge');
      const body = endlessUpload({ filename: 'huge.txt', type: 'text/plain' }, 64 * 1024 * 1024);
      const response = await suite.test.app.inject({ method: 'POST', url: '/v1/me/files', headers: { authorization: `Bearer ${token}`, 'content-type': MULTIPART }, payload: body.stream });
      assert.equal(response.statusCode, 413, response.body);
      assert.equal(response.json<{ code: string }>().code, 'file_too_large');
      assert.equal(response.headers['connection'], 'close');
      // The server stopped pulling within a few chunks of the limit, not at 64 MiB.
      assert.ok(body.pulled() < MAX_BYTES + 512 * 1024, `pulled ${body.pulled()} bytes`);
      // A declared length over the limit is refused before the body is read at all.
      const declared = await suite.test.app.inject({ method: 'POST', url: '/v1/me/files', headers: { authorization: `Bearer ${token}`, 'content-type': MULTIPART, 'content-length': String(64 * 1024 * 1024) }, payload: endlessUpload({ filename: 'x.txt' }, 1024).stream });
      assert.equal(declared.statusCode, 413);
      const listed = await get(suite.test, token, '/v1/me/files');
      assert.deepEqual(listed.json<{ files: unknown[] }>().files, [], 'nothing was stored');
    });

    it('a truncated or malformed multipart body, or none at all, is a 400 and stores nothing', async () => {
      const { token } = await tokenFor('files-malformed');
      const headers = { authorization: `Bearer ${token}`, 'content-type': MULTIPART };
      const bodies = [
        Buffer.concat([partHead({ filename: 'cut.txt', type: 'text/plain' }), Buffer.from('the body ends here')]),
        Buffer.from('no boundary at all'),
        Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\na field, not a file\r\n--${BOUNDARY}--\r\n`),
        Buffer.from(`--${BOUNDARY}--\r\n`),
      ];
      for (const payload of bodies) {
        const response = await suite.test.app.inject({ method: 'POST', url: '/v1/me/files', headers, payload });
        assert.equal(response.statusCode, 400, `${payload.toString().slice(0, 40)}: ${response.body}`);
      }
      const json = await suite.test.app.inject({ method: 'POST', url: '/v1/me/files', headers: { authorization: `Bearer ${token}` }, payload: { file: 'x' } });
      assert.ok(json.statusCode === 400 || json.statusCode === 415, json.body);
      assert.equal((await upload(suite.test, token, { filename: 'empty.txt', type: 'text/plain' }, Buffer.alloc(0))).status, 400);
      assert.deepEqual((await get(suite.test, token, '/v1/me/files')).json<{ files: unknown[] }>().files, []);
    });

    it('a PHP script or an HTML page renamed .png is refused by its content', async () => {
      const { token } = await tokenFor('files-renamed');
      const php = await upload(suite.test, token, { filename: 'shell.png', type: 'image/png' }, Buffer.from('<?php system($_GET["c"]); ?>\n'));
      assert.equal(php.status, 415, php.body.toString());
      assert.equal(php.code, 'file_type_not_allowed');
      const html = await upload(suite.test, token, { filename: 'page.png', type: 'image/png' }, Buffer.from('<!DOCTYPE html><html><script>alert(1)</script></html>'));
      assert.equal(html.code, 'file_type_not_allowed');
      const svg = await upload(suite.test, token, { filename: 'logo.txt', type: 'text/plain' }, Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'));
      assert.equal(svg.code, 'file_type_not_allowed');
      const exe = await upload(suite.test, token, { filename: 'setup.png', type: 'image/png' }, Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200, 1)]));
      assert.equal(exe.status, 415);
      const gif = await upload(suite.test, token, { filename: 'a.gif', type: 'image/gif' }, await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } }).gif().toBuffer());
      assert.equal(gif.code, 'file_type_not_allowed', 'a type outside the allowlist, even a harmless one');
    });

    it('a polyglot (a PNG that is also a web page, a PDF with JavaScript or a ZIP appended) is refused', async () => {
      const { token } = await tokenFor('files-polyglot');
      const pngHTML = await upload(suite.test, token, { filename: 'cat.png', type: 'image/png' }, await pngHTMLPolyglot());
      assert.equal(pngHTML.status, 422, pngHTML.body.toString());
      assert.equal(pngHTML.code, 'file_type_mismatch');
      const pdfJS = Buffer.from(MINIMAL_PDF.toString('latin1').replace('/Type /Catalog', '/Type /Catalog /Names << /JavaScript 3 0 R >>'), 'latin1');
      assert.equal((await upload(suite.test, token, { filename: 'doc.pdf', type: 'application/pdf' }, pdfJS)).code, 'file_type_mismatch');
      const pdfZip = Buffer.concat([MINIMAL_PDF, Buffer.from([0x50, 0x4b, 0x05, 0x06]), Buffer.alloc(18)]);
      assert.equal((await upload(suite.test, token, { filename: 'doc.pdf', type: 'application/pdf' }, pdfZip)).code, 'file_type_mismatch');
      const refused = await suite.test.services.metrics.uploadsRefused.get();
      assert.ok((refused.values.find((value) => value.labels['reason'] === 'polyglot')?.value ?? 0) >= 3, 'counted by reason');
      // The honest versions of each are accepted.
      assert.equal((await upload(suite.test, token, { filename: 'cat.png', type: 'image/png' }, await png())).status, 201);
      assert.equal((await upload(suite.test, token, { filename: 'doc.pdf', type: 'application/pdf' }, MINIMAL_PDF)).status, 201);
    });

    it('a wrong declared Content-Type or extension is refused; the stored type is the detected one', async () => {
      const { token } = await tokenFor('files-declared');
      const image = await png();
      const lying = await upload(suite.test, token, { filename: 'photo.png', type: 'text/html' }, image);
      assert.equal(lying.status, 422);
      assert.equal(lying.code, 'file_type_mismatch');
      assert.equal((await upload(suite.test, token, { filename: 'photo.jpg', type: 'image/jpeg' }, image)).code, 'file_type_mismatch');
      assert.equal((await upload(suite.test, token, { filename: 'notes.html', type: 'text/plain' }, Buffer.from('just words'))).code, 'file_type_mismatch');
      const generic = await upload(suite.test, token, { filename: 'photo', type: 'application/octet-stream' }, image);
      assert.equal(generic.status, 201);
      assert.equal(generic.json<{ media_type: string }>().media_type, 'image/png');
    });

    it('path traversal and control characters in a name are kept as a harmless label, never a path', async () => {
      const { id, token } = await tokenFor('files-names');
      const names: [string, string][] = [
        ['../../../etc/passwd.txt', 'passwd.txt'],
        ['..\\..\\windows\\system.ini.txt', 'system.ini.txt'],
        ['report\u202Etxt.exe.txt', 'reporttxt.exe.txt'],
        ['a\u0000b\u0007c\u001b\u0085d.txt', 'abcd.txt'],
        ['...', 'file'],
      ];
      for (const [given, kept] of names) {
        const answer = await upload(suite.test, token, { filename: given }, Buffer.from('hello'));
        assert.equal(answer.status, 201, `${JSON.stringify(given)}: ${answer.body.toString()}`);
        const file = answer.json<{ id: string; name: string }>();
        assert.equal(file.name, kept, JSON.stringify(given));
        const download = await get(suite.test, token, `/v1/me/files/${file.id}`);
        const disposition = String(download.headers['content-disposition']);
        assert.match(disposition, /^attachment; filename="[\x20-\x7E]+"; filename\*=UTF-8''[A-Za-z0-9%._~!-]+$/, disposition);
      }
      // The name is stored encrypted, and nothing else of it exists: no column holds a path.
      const rows = await suite.test.services.auth.db.selectFrom('user_files').select('name_ciphertext').where('user_id', '=', id).execute();
      for (const row of rows) assert.ok(!row.name_ciphertext.includes('passwd') && row.name_ciphertext.startsWith('f1.'));
    });

    it('a photo\'s EXIF GPS position and camera are removed; the stored image holds pixels only', async () => {
      const { token } = await tokenFor('files-exif');
      const photo = await jpegWithGPS();
      assert.ok((await sharp(photo).metadata()).exif !== undefined, 'the fixture carries EXIF');
      assert.ok(photo.includes(Buffer.from('Serial-4242')));
      const answer = await upload(suite.test, token, { filename: 'holiday.jpg', type: 'image/jpeg' }, photo);
      assert.equal(answer.status, 201, answer.body.toString());
      const stored = await get(suite.test, token, `/v1/me/files/${answer.json<{ id: string }>().id}`);
      const metadata = await sharp(stored.body).metadata();
      assert.equal(metadata.format, 'jpeg');
      assert.equal(metadata.exif, undefined);
      assert.equal(metadata.xmp, undefined);
      assert.ok(!stored.body.includes(Buffer.from('Serial-4242')) && !stored.body.includes(Buffer.from('GPS')));
      assert.deepEqual([metadata.width, metadata.height], [48, 32]);
    });

    it('a decompression bomb (100,000 x 100,000 pixels in a tiny PNG) is refused from its header', async () => {
      const { token } = await tokenFor('files-bomb');
      const bomb = pngBomb(100_000, 100_000);
      assert.ok(bomb.length < 1024, `${bomb.length} bytes`);
      const before = process.memoryUsage().rss;
      const answer = await upload(suite.test, token, { filename: 'bomb.png', type: 'image/png' }, bomb);
      assert.equal(answer.status, 422, answer.body.toString());
      assert.equal(answer.code, 'invalid_image');
      // Decoding would need 10 GB; nothing near that was allocated.
      assert.ok(process.memoryUsage().rss - before < 512 * 1024 * 1024);
      assert.equal((await upload(suite.test, token, { filename: 'wide.png', type: 'image/png' }, pngBomb(40_000, 2000))).code, 'invalid_image', 'just over the pixel limit');
    });

    it('another user\'s file id answers 404, for reading and for deleting (IDOR), like an unknown id', async () => {
      const alice = await tokenFor('files-alice');
      const bob = await tokenFor('files-bob');
      const mine = (await upload(suite.test, alice.token, { filename: 'secret.txt' }, Buffer.from('alice only'))).json<{ id: string }>().id;
      for (const method of ['GET', 'DELETE'] as const) {
        const theirs = await get(suite.test, bob.token, `/v1/me/files/${mine}`, method);
        assert.equal(theirs.status, 404);
        assert.equal(theirs.code, 'not_found');
        const unknown = await get(suite.test, bob.token, '/v1/me/files/00000000-0000-4000-8000-000000000000', method);
        assert.deepEqual(theirs.json<{ title: string }>().title, unknown.json<{ title: string }>().title);
      }
      assert.equal((await get(suite.test, bob.token, `/v1/admin/users/${alice.id}/files/${mine}`)).code, 'forbidden');
      assert.equal((await get(suite.test, alice.token, `/v1/me/files/${mine}`)).body.toString(), 'alice only', 'still there for its owner');
    });

    it('the quota stops an account filling the disk, counting what is stored, and concurrent uploads cannot pass it together', async () => {
      const { token } = await tokenFor('files-quota');
      const piece = Buffer.alloc(200 * 1024, 0x62);
      const answers = await Promise.all(Array.from({ length: 7 }, (_, n) => upload(suite.test, token, { filename: `part-${n}.txt` }, piece)));
      const statuses = answers.map((answer) => answer.status).sort();
      assert.deepEqual(statuses, [201, 201, 201, 201, 201, 413, 413], '5 x 200 KiB fit in 1 MiB, a sixth does not');
      assert.ok(answers.filter((answer) => answer.status === 413).every((answer) => answer.code === 'storage_quota_exceeded'));
      const files = (await get(suite.test, token, '/v1/me/files')).json<{ files: { size_bytes: number }[] }>().files;
      assert.equal(files.reduce((sum, file) => sum + file.size_bytes, 0), 5 * 200 * 1024);
    });

    it('a download is an attachment of the detected type that no browser renders or runs', async () => {
      const { token } = await tokenFor('files-headers');
      const id = (await upload(suite.test, token, { filename: 'Résumé «final».txt', type: 'text/plain' }, Buffer.from('plain words\n'))).json<{ id: string }>().id;
      const download = await get(suite.test, token, `/v1/me/files/${id}`);
      assert.equal(download.status, 200);
      assert.equal(download.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(download.headers['x-content-type-options'], 'nosniff');
      assert.equal(download.headers['content-security-policy'], "sandbox; default-src 'none'");
      assert.equal(download.headers['content-disposition'], 'attachment; filename="R_sum_ _final_.txt"; filename*=UTF-8\'\'R%C3%A9sum%C3%A9%20%C2%ABfinal%C2%BB.txt');
      assert.match(String(download.headers['cache-control']), /no-store/);
      const image = (await upload(suite.test, token, { filename: 'dot', type: 'application/octet-stream' }, await png())).json<{ id: string }>().id;
      const picture = await get(suite.test, token, `/v1/me/files/${image}`);
      assert.equal(picture.headers['content-type'], 'image/png');
      assert.equal(picture.headers['content-disposition'], 'attachment; filename="dot.png"; filename*=UTF-8\'\'dot.png');
    });
  });

  describe(`an oversized upload over a real connection on ${engine.engine}`, () => {
    let test: TestApp | null = null;
    let database: TestDatabase | null = null;
    before(async () => {
      database = await engine.open();
      test = await startTestApp({ database: database.database, listen: true, env: { ...GENEROUS_LIMITS, UPLOAD_MAX_BYTES: String(MAX_BYTES) } });
    });
    after(async () => {
      await test?.close();
      await database?.cleanup();
    });

    /** Streams a chunked multipart body that never ends; answers the response's head and how much the client wrote before the server closed. */
    async function sendEndless(token: string): Promise<{ response: string; closed: boolean; written: number }> {
      assert.ok(test !== null);
      const socket = connect(Number(new URL(test.baseURL).port), '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      let response = '';
      const state = { closed: false };
      socket.on('data', (data: Buffer) => { response += data.toString('latin1'); });
      socket.on('error', () => { /* a reset while writing is the cut itself */ });
      const ended = new Promise((resolve) => socket.once('close', () => { state.closed = true; resolve(null); }));
      const frame = (bytes: Buffer): Buffer => Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')]);
      socket.write(`POST /v1/me/files HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: ${MULTIPART}\r\nTransfer-Encoding: chunked\r\n\r\n`);
      socket.write(frame(partHead({ filename: 'endless.txt', type: 'text/plain' })));
      const chunk = frame(Buffer.alloc(64 * 1024, 0x61));
      const ATTEMPT = 256 * 1024 * 1024;
      let written = 0;
      // Once answered, a server that keeps reading (and discarding) is caught at 64 MiB.
      while (!state.closed && !socket.destroyed && written < ATTEMPT && !(response !== '' && written > 64 * 1024 * 1024)) {
        written += 64 * 1024;
        if (!socket.write(chunk)) await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), ended, new Promise((resolve) => setTimeout(resolve, 5000))]);
      }
      await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 5000))]);
      socket.destroy();
      return { response, closed: state.closed, written };
    }

    it('a chunked body that never ends is answered 413 and the connection closed, the sender stopped after a few MiB', async () => {
      assert.ok(test !== null);
      const user = await createUser(test, { label: 'files-socket' });
      const sent = await sendEndless((await signIn(test, user)).access_token);
      assert.match(sent.response, /^HTTP\/1\.1 413 /);
      assert.match(sent.response, /\r\nconnection: close\r\n/i);
      assert.ok(sent.closed, 'the server closed the connection');
      // What the kernel's socket buffers took before the close, not the 256 MiB offered.
      assert.ok(sent.written < 32 * 1024 * 1024, `the client wrote ${sent.written} bytes`);
    });

    it('an upload refused before its body is read (a forged token) is cut as well', async () => {
      const sent = await sendEndless('forged.token.value');
      assert.match(sent.response, /^HTTP\/1\.1 401 /);
      assert.ok(sent.closed, 'the server closed the connection');
      assert.ok(sent.written < 32 * 1024 * 1024, `the client wrote ${sent.written} bytes`);
    });
  });

  describe(`file upload rate limit on ${engine.engine}`, () => {
    const suite = mfaAppPerSuite(engine, { UPLOAD_RATE_LIMIT_MAX: '3', UPLOAD_RATE_LIMIT_WINDOW: '1h' });

    it('an account gets three uploads an hour, whatever they are, and a refused one reads no body', async () => {
      const user = await createSignedIn(suite.test, { label: 'files-limit' });
      const other = await createSignedIn(suite.test, { label: 'files-limit-other' });
      const statuses: number[] = [];
      for (let n = 0; n < 4; n += 1) statuses.push((await upload(suite.test, user.tokens.access_token, { filename: `n${n}.txt` }, Buffer.from(`upload ${n}`))).status);
      assert.deepEqual(statuses, [201, 201, 201, 429]);
      const avatar = await upload(suite.test, user.tokens.access_token, { filename: 'me.png', type: 'image/png' }, await png(), { url: '/v1/me/avatar', method: 'PUT' });
      assert.equal(avatar.status, 429, 'the avatar shares the budget');
      assert.equal(avatar.code, 'rate_limited');
      const body = endlessUpload({ filename: 'big.txt' }, 8 * 1024 * 1024);
      const refused = await suite.test.app.inject({ method: 'POST', url: '/v1/me/files', headers: { authorization: `Bearer ${user.tokens.access_token}`, 'content-type': MULTIPART }, payload: body.stream });
      assert.equal(refused.statusCode, 429);
      assert.ok(body.pulled() < 1024 * 1024, `pulled ${body.pulled()} bytes`);
      assert.equal((await upload(suite.test, other.tokens.access_token, { filename: 'x.txt' }, Buffer.from('mine'))).status, 201, 'per account, not global');
    });
  });
}
