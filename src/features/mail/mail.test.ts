import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { createLogger } from '../../core/logging.ts';
import { createMailer, outboxTransport, type MailTransport } from './mailer.ts';
import { passwordResetMail, verificationMail } from './templates.ts';

const silent = createLogger({ level: 'silent' });

describe('mail', () => {
  it('writes each message as a private .eml file in the development outbox', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gh-outbox-'));
    try {
      const mailer = createMailer({ transport: outboxTransport(dir), from: 'Gatehouse <no-reply@localhost>', log: silent });
      mailer.enqueue(verificationMail({ publicURL: 'https://id.example.test' }, 'ada@example.test', 'tok123'));
      await mailer.drain();
      const files = await readdir(dir);
      assert.equal(files.length, 1);
      const path = join(dir, files[0]!);
      assert.equal((await stat(path)).mode & 0o777, 0o600);
      // Bodies are quoted-printable: undo soft line breaks and =XX escapes.
      const eml = (await readFile(path, 'utf8'))
        .replaceAll('=\n', '')
        .replaceAll(/=([0-9A-F]{2})/g, (_match, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
      assert.match(eml, /^To: ada@example\.test$/m);
      assert.match(eml, /https:\/\/id\.example\.test\/verify-email#token=tok123/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('builds links only from the public URL, with the token in the fragment', () => {
    const mail = passwordResetMail({ publicURL: 'https://id.example.test/base' }, 'ada@example.test', 'abc');
    assert.match(mail.text, /https:\/\/id\.example\.test\/base\/reset-password#token=abc/);
  });

  it('enqueue never blocks or throws on a failing transport, and the failure log holds no recipient or body', async () => {
    const lines: string[] = [];
    const log = createLogger({
      level: 'info',
      destination: new Writable({ write(chunk: Buffer, _e, cb) { lines.push(chunk.toString()); cb(); } }),
    });
    const failing: MailTransport = () => Promise.reject(new Error('smtp down'));
    const mailer = createMailer({ transport: failing, from: 'x@localhost', log });
    mailer.enqueue(passwordResetMail({ publicURL: 'https://id.example.test' }, 'victim@example.test', 'secret-link-token'));
    await mailer.drain();
    const output = lines.join('');
    assert.match(output, /mail delivery failed/);
    assert.doesNotMatch(output, /victim@example\.test|secret-link-token/);
  });

  it('the failure log keeps the transport error code, while the link token stays out', async () => {
    const lines: string[] = [];
    const log = createLogger({
      level: 'info',
      destination: new Writable({ write(chunk: Buffer, _e, cb) { lines.push(chunk.toString()); cb(); } }),
    });
    const refused: MailTransport = () => Promise.reject(Object.assign(new Error('connect refused'), { code: 'ECONNREFUSED' }));
    const mailer = createMailer({ transport: refused, from: 'x@localhost', log });
    mailer.enqueue(passwordResetMail({ publicURL: 'https://id.example.test' }, 'victim@example.test', 'secret-link-token'));
    await mailer.drain();
    const output = lines.join('');
    assert.match(output, /"code":"ECONNREFUSED"/);
    assert.doesNotMatch(output, /secret-link-token/);
  });
});
