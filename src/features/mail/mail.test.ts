import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { outboxTransport } from './mailer.ts';
import { passwordResetMail, verificationMail } from './templates.ts';

describe('mail', () => {
  it('writes each message as a private .eml file in the development outbox', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gh-outbox-'));
    try {
      await outboxTransport(dir)({ ...verificationMail({ publicURL: 'https://id.example.test' }, 'ada@example.test', 'tok123'), from: 'Gatehouse <no-reply@localhost>' });
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
});
