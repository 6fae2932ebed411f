// Shared by the file suites: multipart bodies built by hand (so a test can lie about the
// name and type, or send a body that never ends), and images made with sharp.
import { Readable } from 'node:stream';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { TestApp } from '../../../test/helpers/app.ts';

export const BOUNDARY = 'gatehouse-test-boundary-7d1f';
export const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`;

export interface Part {
  readonly name?: string;
  readonly filename: string;
  readonly type?: string;
}

export function partHead(part: Part): Buffer {
  const type = part.type === undefined ? '' : `Content-Type: ${part.type}\r\n`;
  return Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${part.name ?? 'file'}"; filename="${part.filename}"\r\n${type}\r\n`, 'utf8');
}

export function multipart(part: Part, content: Buffer): Buffer {
  return Buffer.concat([partHead(part), content, Buffer.from(`\r\n--${BOUNDARY}--\r\n`)]);
}

export interface Answer {
  readonly status: number;
  readonly code: unknown;
  readonly headers: Record<string, unknown>;
  readonly body: Buffer;
  /** The body as JSON, typed by the caller (as `call` in authz.fixtures.ts). */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller states the shape it asserts on
  json<T = Record<string, unknown>>(): T;
}

function answer(response: { statusCode: number; headers: Record<string, unknown>; rawPayload: Buffer }): Answer {
  let code: unknown;
  try {
    code = (JSON.parse(response.rawPayload.toString('utf8')) as Record<string, unknown>)['code'];
  } catch {
    code = undefined;
  }
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- as above
  return { status: response.statusCode, code, headers: response.headers, body: response.rawPayload, json: <T = Record<string, unknown>>(): T => JSON.parse(response.rawPayload.toString('utf8')) as T };
}

export async function upload(test: TestApp, token: string, part: Part, content: Buffer, options: { readonly url?: string; readonly method?: 'POST' | 'PUT' } = {}): Promise<Answer> {
  const response = await test.app.inject({
    method: options.method ?? 'POST',
    url: options.url ?? '/v1/me/files',
    headers: { authorization: `Bearer ${token}`, 'content-type': MULTIPART },
    payload: multipart(part, content),
  });
  return answer(response);
}

export async function get(test: TestApp, token: string, url: string, method: 'GET' | 'DELETE' = 'GET'): Promise<Answer> {
  return answer(await test.app.inject({ method, url, headers: { authorization: `Bearer ${token}` } }));
}

/** A body that would go on for `totalBytes`, counting how much of it the server pulled. */
export function endlessUpload(part: Part, totalBytes: number): { readonly stream: Readable; pulled(): number } {
  let pulled = 0;
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  async function* body(): AsyncGenerator<Buffer> {
    const head = partHead(part);
    pulled += head.length;
    yield head;
    while (pulled < totalBytes) {
      pulled += chunk.length;
      yield chunk;
    }
    yield Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
  }
  return { stream: Readable.from(body(), { objectMode: false, highWaterMark: 16 * 1024 }), pulled: () => pulled };
}

export async function png(width = 32, height = 32): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 40 } } }).png().toBuffer();
}

/** A JPEG photo carrying an EXIF GPS position and a camera serial. */
export async function jpegWithGPS(): Promise<Buffer> {
  return sharp({ create: { width: 48, height: 32, channels: 3, background: { r: 10, g: 120, b: 200 } } })
    .jpeg()
    .withExif({ IFD0: { Make: 'TestCam', Model: 'Serial-4242' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 2400/100', GPSLongitudeRef: 'E', GPSLongitude: '2/1 21/1 300/100' } })
    .toBuffer();
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A valid-looking PNG of a few hundred bytes that declares width x height pixels: a decompression bomb's header. */
export function pngBomb(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 0, 0, 0, 0], 8); // 8-bit greyscale, deflate, no filter, no interlace
  // The first rows' worth of zeros: a real bomb is one long run of them, compressed ~1000:1.
  const pixels = deflateSync(Buffer.alloc(64 * 1024));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', header), pngChunk('IDAT', pixels), pngChunk('IEND', Buffer.alloc(0))]);
}

/** A PNG that is also an HTML page: the markup sits in a text chunk a browser would sniff. */
export async function pngHTMLPolyglot(): Promise<Buffer> {
  const image = await png();
  const iend = image.length - 12;
  const text = pngChunk('tEXt', Buffer.from('Comment\0<html><body><script>alert(document.cookie)</script></body></html>', 'latin1'));
  return Buffer.concat([image.subarray(0, iend), text, image.subarray(iend)]);
}

export const MINIMAL_PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n', 'latin1');
