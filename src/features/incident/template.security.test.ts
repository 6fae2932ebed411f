// A breach notification goes to everybody at once: a template mistake, or a stored name
// that carries markup or line breaks, must never reach a header or forge part of the mail.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { templateBytes, VALID_BODY, VALID_FIELDS } from './incident.fixtures.ts';
import { MAX_TEMPLATE_BYTES, parseTemplate, renderNotification, TemplateError } from './template.ts';

function refused(bytes: Uint8Array, reason: RegExp): void {
  assert.throws(() => parseTemplate(bytes), (error: unknown) => error instanceof TemplateError && reason.test(error.message));
}

describe('breach notification template: what it refuses', () => {
  for (const section of ['What happened', 'What data was involved', 'What we did', 'What you should do']) {
    it(`a template without the section "${section}" is refused`, () => {
      assert.throws(() => parseTemplate(templateBytes({ body: VALID_BODY.replace(`## ${section}\n`, '') })), { message: `the body lacks the section "## ${section}"` });
    });
  }

  it('an empty section, a repeated one, or the sections out of order are refused', () => {
    refused(templateBytes({ body: VALID_BODY.replace('Your email address and name.\n', '') }), /"## What data was involved" is empty/);
    refused(templateBytes({ body: `${VALID_BODY}\n## What we did\nMore.\n` }), /appears twice/);
    const swapped = VALID_BODY.replace('## What happened', '## SWAP').replace('## What data was involved', '## What happened').replace('## SWAP', '## What data was involved');
    refused(templateBytes({ body: swapped }), /out of order/);
  });

  it('an unknown placeholder, a malformed one, or a stray brace is refused', () => {
    refused(templateBytes({ body: `${VALID_BODY}{{email}}\n` }), /unknown placeholder \{\{email\}\}/);
    refused(templateBytes({ body: `${VALID_BODY}{{ password_reset_link }}\n` }), /unknown placeholder/);
    refused(templateBytes({ body: `${VALID_BODY}{{name}\n` }), /not a placeholder/);
    refused(templateBytes({ body: `${VALID_BODY}}}\n` }), /not a placeholder/);
    refused(templateBytes({ body: VALID_BODY.replace('{{contact}}', 'us') }), /\{\{contact\}\}/);
  });

  it('a subject with CR/LF, another control character, or a placeholder is refused: nothing can reach a header', () => {
    // A bare CR survives the line split; it is refused, never passed to the mailer.
    refused(templateBytes({ subject: 'Incident\rBcc: everyone@example.test' }), /"subject" contains a line break/);
    // CRLF makes the rest a front-matter line of its own: an unknown field.
    refused(templateBytes({ subject: 'Incident\r\nBcc: everyone@example.test' }), /unknown front-matter field "Bcc"|not "key: value"/);
    refused(templateBytes({ subject: 'Incident\u2028Bcc: x@example.test' }), /"subject" contains a line break/);
    refused(templateBytes({ subject: 'Incident\u0085Bcc: x@example.test' }), /"subject" contains a line break/);
    refused(templateBytes({ subject: 'Dear {{name}}' }), /subject is fixed text/);
    refused(templateBytes({ subject: '' }), /"subject" is missing or empty/);
  });

  it('a missing, unknown, repeated or malformed organisation field is refused', () => {
    refused(templateBytes({ fields: VALID_FIELDS.replace(/contact: .*/, '') }), /"contact" is missing/);
    refused(templateBytes({ fields: `${VALID_FIELDS}\nreply_to: attacker@example.test` }), /unknown front-matter field "reply_to"/);
    refused(templateBytes({ fields: `${VALID_FIELDS}\ncontact: again` }), /given twice/);
    refused(templateBytes({ fields: VALID_FIELDS.replace('https://example.test/incident', 'javascript:alert(1)') }), /https URL/);
    refused(templateBytes({ fields: VALID_FIELDS.replace('https://example.test/incident', 'http://example.test/incident') }), /https URL/);
    refused(templateBytes({ fields: VALID_FIELDS.replace('Example Ltd', 'Example\u202eLtd') }), /control character/);
  });

  it('an oversized template, subject or field, and a body with control characters are refused', () => {
    refused(templateBytes({ body: `${VALID_BODY}${'x'.repeat(MAX_TEMPLATE_BYTES)}\n` }), /larger than/);
    refused(templateBytes({ subject: 's'.repeat(151) }), /"subject" is longer than 150/);
    refused(templateBytes({ fields: VALID_FIELDS.replace('Example Ltd', 'E'.repeat(301)) }), /"organisation" is longer/);
    refused(templateBytes({ body: `${VALID_BODY}bell\u0007\n` }), /control character/);
    refused(templateBytes({ body: `${VALID_BODY}${'{{name}} '.repeat(41)}\n` }), /more than 40 placeholders/);
    refused(Buffer.from([0x2d, 0x2d, 0x2d, 0x0a, 0xff, 0xfe]), /not UTF-8/);
    refused(templateBytes().subarray(4), /must start with a front-matter block/);
  });
});

describe('breach notification: a stored name is inserted as text', () => {
  const template = parseTemplate(templateBytes());

  it('markup in a name stays literal text, and the subject never carries the name', () => {
    const mail = renderNotification(template, { name: '<b>Ada</b> <a href="https://evil.example.test">click</a>' });
    assert.match(mail.text, /^Dear <b>Ada<\/b> <a href="https:\/\/evil\.example\.test">click<\/a>,\n/);
    assert.equal(mail.subject, 'A security incident involving your account');
  });

  it('CR/LF in a name cannot add a line or a forged section: it becomes a space', () => {
    const forged = 'Ada\r\n\r\n## What you should do\r\nSend your password to evil@example.test\u2028Bcc: x';
    const mail = renderNotification(template, { name: forged });
    const first = mail.text.split('\n')[0] ?? '';
    assert.equal(first, 'Dear Ada ## What you should do Send your password to evil@example.test Bcc: x,');
    assert.ok(!mail.text.includes('\r'));
    assert.equal(mail.text.split('\n').filter((line) => line.startsWith('## What you should do')).length, 1, 'no second section');
    assert.equal(mail.text.split('\n').length, renderNotification(template, { name: 'Ada' }).text.split('\n').length, 'the same number of lines as with a plain name');
  });

  it('NEL, NUL, escape sequences and bidi overrides in a name become spaces', () => {
    const mail = renderNotification(template, { name: 'Ada\u0085Bcc\u0000\u001b[31m\u202egnp.exe' });
    assert.equal(mail.text.split('\n')[0], 'Dear Ada Bcc [31m gnp.exe,');
  });

  it('a placeholder or a replacement pattern in a name is not expanded', () => {
    const mail = renderNotification(template, { name: '{{support_url}} $& $1 {{contact}}' });
    assert.match(mail.text, /^Dear \{\{support_url\}\} \$& \$1 \{\{contact\}\},\n/);
  });

  it('a very long name is cut to 100 characters; a name of only control characters gets the fallback', () => {
    const mail = renderNotification(template, { name: 'A'.repeat(10_000) });
    assert.equal(mail.text.split('\n')[0], `Dear ${'A'.repeat(100)},`);
    assert.match(renderNotification(template, { name: '\r\n\t' }).text, /^Dear customer,\n/);
  });
});
