// Names and bytes from a hostile client, at random: a name never becomes a path or breaks
// out of a header, and no content makes the type check throw anything but a refusal.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { detectType, MEDIA_TYPES, UploadRefused } from './detect-type.ts';
import { contentDisposition, downloadName, sanitizeFilename } from './filename.ts';

// Path separators, dots, controls, bidi overrides, surrogates and ordinary letters, mixed.
const hostileChar = fc.oneof(
  fc.constantFrom('/', '\\', '.', '..', ' ', '\u0000', '\u0007', '\r', '\n', '\u202E', '\u2066', '\u200B', '\uFEFF', '\uD800', '"', '%', ';', ':', '*', 'é', '名'),
  fc.string({ unit: 'grapheme', maxLength: 3 }),
  fc.string({ unit: 'binary', maxLength: 3 }),
);
const hostileName = fc.array(hostileChar, { maxLength: 80 }).map((parts) => parts.join(''));

describe('file names from a hostile client', () => {
  it('a sanitised name is one harmless segment: no separator, control or format character, never empty, "." or ".."', () => {
    fc.assert(
      fc.property(hostileName, (raw) => {
        const name = sanitizeFilename(raw);
        assert.ok(name.length > 0 && name !== '.' && name !== '..');
        assert.ok(!/[/\\]/.test(name), name);
        assert.ok(!/[\p{Cc}\p{Cf}\p{Cs}]/u.test(name), JSON.stringify(name));
        assert.ok(!name.startsWith('.') && !name.endsWith('.') && name.trim() === name);
        assert.ok(Array.from(name).length <= 200);
        assert.equal(sanitizeFilename(name), name, 'sanitising is idempotent');
      }),
      { numRuns: 2000 },
    );
  });

  it('a Content-Disposition never leaves its header and round-trips the name (RFC 6266, RFC 8187)', () => {
    fc.assert(
      fc.property(hostileName, fc.constantFrom(...MEDIA_TYPES), (raw, type) => {
        const name = downloadName(sanitizeFilename(raw), type);
        const header = contentDisposition(name);
        assert.match(header, /^attachment; filename="[\x20-\x21\x23-\x5B\x5D-\x7E]*"; filename\*=UTF-8''[A-Za-z0-9%!#$&+\-.^_`|~]+$/, header);
        const encoded = header.slice(header.indexOf("UTF-8''") + 7);
        assert.equal(decodeURIComponent(encoded), name);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('file contents from a hostile client', () => {
  it('random bytes, names and declared types are accepted as an allowed type or refused as UploadRefused, nothing else', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 512 }),
        fc.constantFrom('', 'a.png', 'a.txt', 'a', 'a.pdf', 'a.jpeg'),
        fc.constantFrom(null, 'image/png', 'text/plain', 'application/octet-stream', 'text/html', 'x/'),
        async (bytes, name, declared) => {
          try {
            const type = await detectType(Buffer.from(bytes), { name, declared });
            assert.ok(MEDIA_TYPES.includes(type));
          } catch (error) {
            assert.ok(error instanceof UploadRefused, String(error));
            assert.ok([413, 415, 422].includes(error.statusCode));
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
