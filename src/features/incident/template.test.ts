import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { templateBytes } from './incident.fixtures.ts';
import { parseTemplate, renderNotification, REQUIRED_SECTIONS } from './template.ts';

describe('breach notification template', () => {
  it('the shipped example template passes the checks and renders every field', async () => {
    const bytes = await readFile(new URL('../../../docs/examples/incident-notification.txt', import.meta.url));
    const template = parseTemplate(bytes);
    const mail = renderNotification(template, { name: 'Ada Lovelace' });
    assert.equal(mail.subject, 'Important: a security incident involving your account');
    assert.match(mail.text, /^Dear Ada Lovelace,\n/);
    for (const section of REQUIRED_SECTIONS) assert.ok(mail.text.includes(`## ${section}\n`), section);
    assert.ok(mail.text.includes('https://example.com/security/incident-2026-12'));
    assert.ok(mail.text.includes('dpo@example.com'));
    assert.ok(!mail.text.includes('{{'), 'no placeholder is left');
  });

  it('renders the fallback when the account has no name, and accepts CRLF files', () => {
    const crlf = Buffer.from(Buffer.from(templateBytes()).toString('utf8').replace(/\n/g, '\r\n'));
    const template = parseTemplate(crlf);
    assert.match(renderNotification(template, { name: null }).text, /^Dear customer,\n/);
    assert.ok(!renderNotification(template, { name: null }).text.includes('\r'));
  });

  it('identifies the campaign by the file: the same bytes, the same hash; one changed byte, another', () => {
    assert.equal(parseTemplate(templateBytes()).sha256, parseTemplate(templateBytes()).sha256);
    assert.notEqual(parseTemplate(templateBytes()).sha256, parseTemplate(templateBytes({ subject: 'A security incident involving your account!' })).sha256);
  });
});
