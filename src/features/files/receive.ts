// Reads the one file of a multipart upload, never more than the limit: the bytes are
// counted as they arrive, and the moment the file passes `maxBytes` the part is dropped
// (which unpipes the request from the parser, so nothing more is read from the socket)
// and the request is refused with `Connection: close`, ending the upload there. What is
// held in memory is bounded by the limit, whatever the client sends or declares.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../core/errors.ts';
import { UploadRefused } from './detect-type.ts';

export interface ReceivedFile {
  readonly bytes: Buffer;
  /** The name the client gave, unsanitised: for sanitizeFilename only. */
  readonly clientName: string;
  /** The Content-Type the client declared for the part, or null. */
  readonly declared: string | null;
}

// One part (the file), no fields; the parser's own file limit is one byte over ours, so
// our count sees the file pass the limit (busboy alone would skip the excess silently
// and read on to the end of the request).
function parserLimits(maxBytes: number): { fileSize: number; files: number; fields: number; parts: number; headerPairs: number; fieldNameSize: number } {
  return { fileSize: maxBytes + 1, files: 1, fields: 0, parts: 1, headerPairs: 16, fieldNameSize: 64 };
}

export async function receiveFile(request: FastifyRequest, reply: FastifyReply, maxBytes: number): Promise<ReceivedFile> {
  // A declared length over the limit is refused before one byte of the body is read.
  const declaredLength = Number(request.headers['content-length'] ?? 0);
  if (declaredLength > maxBytes + 64 * 1024) {
    void reply.header('connection', 'close');
    throw new UploadRefused('too_large', 'file_too_large', `content-length ${declaredLength}`);
  }
  let part;
  try {
    part = await request.file({ limits: parserLimits(maxBytes), throwFileSizeLimit: false });
  } catch (error) {
    throw new AppError('invalid_request', { detail: `multipart: ${error instanceof Error ? error.message : 'unreadable'}`, fields: [{ field: '/body/file', rule: 'multipart' }] });
  }
  if (part === undefined) throw new AppError('invalid_request', { detail: 'no file part', fields: [{ field: '/body/file', rule: 'required' }] });
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    for await (const chunk of part.file) {
      const bytes = chunk as Buffer;
      received += bytes.length;
      if (received > maxBytes) {
        // Leaving the loop destroys the part's stream, and with it the parser's hold on
        // the request; `Connection: close` keeps Node from reading the rest to discard it.
        chunks.length = 0;
        void reply.header('connection', 'close');
        throw new UploadRefused('too_large', 'file_too_large', `file passed ${maxBytes} bytes`);
      }
      chunks.push(bytes);
    }
  } catch (error) {
    if (error instanceof UploadRefused) throw error;
    // A body that ends inside the part, or breaks the multipart syntax, is the client's fault.
    throw new AppError('invalid_request', { detail: `multipart: ${error instanceof Error ? error.message : 'unreadable'}`, fields: [{ field: '/body/file', rule: 'multipart' }] });
  }
  if (part.file.truncated) throw new UploadRefused('too_large', 'file_too_large', 'file truncated by the parser');
  return { bytes: Buffer.concat(chunks, received), clientName: part.filename, declared: part.mimetype === '' ? null : part.mimetype };
}
