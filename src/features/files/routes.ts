// Files a user keeps on their account (docs/privacy.md#uploaded-files):
// - POST /v1/me/files (multipart/form-data, one part named `file`), GET /v1/me/files,
//   GET and DELETE /v1/me/files/{id}; PUT and GET /v1/me/avatar.
// - GET /v1/admin/users/{id}/files and .../files/{fileId}: an administrator with
//   users:read lists and downloads a user's files, each access audited before any byte
//   is sent.
// Uploads are limited per account (UPLOAD_RATE_LIMIT_*), counted before the body is read.
// A download is always an attachment of the detected type, never rendered: nosniff, and
// a CSP sandbox in case a browser opens it anyway.
import fastifyMultipart from '@fastify/multipart';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { UploadsConfig } from '../../config/config.ts';
import { AppError } from '../../core/errors.ts';
import { responses } from '../../core/http/problem.ts';
import type { RouteLimit } from '../../core/http/rate-limit.ts';
import type { Metrics } from '../../core/metrics/metrics.ts';
import { assertMayManage } from '../admin/index.ts';
import { requireAuth } from '../auth/index.ts';
import type { Authorizer } from '../authorization/index.ts';
import { UploadRefused } from './detect-type.ts';
import type { ContentStore } from './content-store.ts';
import { contentDisposition, downloadName } from './filename.ts';
import { receiveFile } from './receive.ts';
import { userExists } from './repo.ts';
import { listOwnFiles, readOwnFile, removeFile, storeUpload, type FileContent, type FileInfo, type FilesDeps } from './service.ts';

export interface FilesOptions {
  readonly deps: Omit<FilesDeps, 'store'> & { readonly authorizer: Authorizer };
  /** The database (default) or FILES_DIR. */
  readonly store: ContentStore;
  readonly uploads: UploadsConfig;
  readonly metrics: Pick<Metrics, 'uploadsRefused'>;
}

const security = [{ bearer: [] }];
const FileJSON = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    purpose: Type.Union([Type.Literal('file'), Type.Literal('avatar')]),
    name: Type.String({ description: 'The original name, sanitised: last path segment, no control or bidirectional characters' }),
    media_type: Type.Union([Type.Literal('image/png'), Type.Literal('image/jpeg'), Type.Literal('image/webp'), Type.Literal('application/pdf'), Type.Literal('text/plain')], { description: 'Detected from the content, never from the name or the declared type' }),
    size_bytes: Type.Integer({ minimum: 0, description: 'As stored (an image after re-encoding)' }),
    created_at: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);
const FileList = Type.Object({ files: Type.Array(FileJSON) }, { additionalProperties: false });
const OwnFileList = Type.Object(
  {
    files: Type.Array(FileJSON),
    quota_bytes: Type.Integer({ minimum: 0, description: 'What the account may store in all (UPLOAD_QUOTA_BYTES); the files\' sizes say how much is used' }),
    max_file_bytes: Type.Integer({ minimum: 0, description: 'The largest file accepted (UPLOAD_MAX_BYTES)' }),
  },
  { additionalProperties: false },
);
const Binary = Type.String({ format: 'binary', description: 'The file, as an attachment of its detected type' });
const FileParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
const UserParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
const UserFileParams = Type.Object({ id: Type.String({ format: 'uuid' }), fileId: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
const UPLOAD_DESCRIPTION = 'multipart/form-data with one part, the file. Its type is decided by its content (PNG, JPEG, WebP, PDF, plain text); the name and declared type must agree with it. Images are re-encoded without metadata.';

function fileJSON(file: FileInfo): { id: string; purpose: 'file' | 'avatar'; name: string; media_type: FileInfo['mediaType']; size_bytes: number; created_at: string } {
  return { id: file.id, purpose: file.purpose, name: file.name, media_type: file.mediaType, size_bytes: file.sizeBytes, created_at: file.createdAt.toISOString() };
}

function sendFile(reply: FastifyReply, file: FileContent): FastifyReply {
  return reply
    .type(file.mediaType === 'text/plain' ? 'text/plain; charset=utf-8' : file.mediaType)
    .header('content-disposition', contentDisposition(downloadName(file.name, file.mediaType)))
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', "sandbox; default-src 'none'")
    .header('cache-control', 'private, no-store')
    .header('cross-origin-resource-policy', 'same-origin')
    .send(file.bytes);
}

export const filesRoutes: FastifyPluginAsync<FilesOptions> = async (app, options) => {
  const { uploads, metrics } = options;
  const deps: FilesDeps = { db: options.deps.db, keyring: options.deps.keyring, clock: options.deps.clock, change: options.deps.change, store: options.store };
  // Registered in this plugin only: no other route accepts multipart bodies.
  await app.register(fastifyMultipart, { limits: { fileSize: uploads.maxBytes + 1, files: 1, fields: 0, parts: 1 } });
  // An upload refused before its body was read (401, 403, 429, ...) closes the connection
  // too: otherwise Node would read the rest of the body, however long, to discard it. (The
  // headers are read, not request.isMultipart(): the body parser has not run on a refusal.)
  app.addHook('onSend', async (request, reply) => {
    const hasBody = request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;
    if (reply.statusCode >= 400 && hasBody) void reply.header('connection', 'close');
  });
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const uploadLimit: RouteLimit = { name: 'file-upload', key: 'account', max: uploads.rateLimit.max, windowMs: uploads.rateLimit.windowSeconds * 1000 };

  async function upload(request: FastifyRequest, reply: FastifyReply, purpose: 'file' | 'avatar'): Promise<FileInfo> {
    const ownerId = requireAuth(request).userId;
    try {
      const received = await receiveFile(request, reply, uploads.maxBytes);
      return await storeUpload(deps, { ownerId, purpose, ...received }, request.auditContext, uploads.quotaBytes);
    } catch (error) {
      if (error instanceof UploadRefused) metrics.uploadsRefused.inc({ reason: error.reason });
      throw error;
    }
  }

  async function audited(request: FastifyRequest, action: 'file.downloaded' | 'files.listed', userId: string, details: Record<string, string>): Promise<void> {
    const actor = requireAuth(request).userId;
    await deps.change(request.auditContext, ({ audit }) => {
      audit({ actor: { type: 'user', id: actor }, action, target: { type: 'user', id: userId }, outcome: 'success', details: { ...details, by: 'administrator' } });
      return Promise.resolve();
    });
  }

  typed.post(
    '/v1/me/files',
    {
      config: { access: 'authenticated', rateLimit: [uploadLimit] },
      schema: { summary: 'Upload a file to your account', description: UPLOAD_DESCRIPTION, tags: ['me'], security, consumes: ['multipart/form-data'], response: responses({ 201: FileJSON }) },
    },
    async (request, reply) => reply.code(201).send(fileJSON(await upload(request, reply, 'file'))),
  );

  typed.get(
    '/v1/me/files',
    { config: { access: 'authenticated' }, schema: { summary: 'Your files, newest first, and your storage limits', tags: ['me'], security, response: responses({ 200: OwnFileList }) } },
    async (request) => ({ files: (await listOwnFiles(deps, requireAuth(request).userId)).map(fileJSON), quota_bytes: uploads.quotaBytes, max_file_bytes: uploads.maxBytes }),
  );

  typed.get(
    '/v1/me/files/:id',
    { config: { access: 'authenticated' }, schema: { summary: 'Download one of your files', tags: ['me'], security, params: FileParams, response: responses({ 200: Binary }) } },
    async (request, reply) => {
      const file = await readOwnFile(deps, requireAuth(request).userId, { fileId: request.params.id });
      if (file === null) throw new AppError('not_found', { detail: 'no such file of this owner' });
      const untyped: FastifyReply = reply;
      return sendFile(untyped, file);
    },
  );

  typed.delete(
    '/v1/me/files/:id',
    { config: { access: 'authenticated' }, schema: { summary: 'Delete one of your files', tags: ['me'], security, params: FileParams, response: responses({ 204: Type.Null() }) } },
    async (request, reply) => {
      if (!(await removeFile(deps, requireAuth(request).userId, request.params.id, request.auditContext))) throw new AppError('not_found', { detail: 'no such file of this owner' });
      return reply.code(204).send(null);
    },
  );

  typed.put(
    '/v1/me/avatar',
    {
      config: { access: 'authenticated', rateLimit: [uploadLimit] },
      schema: { summary: 'Set your avatar (an image; cropped to a square)', description: UPLOAD_DESCRIPTION, tags: ['me'], security, consumes: ['multipart/form-data'], response: responses({ 200: FileJSON }) },
    },
    async (request, reply) => fileJSON(await upload(request, reply, 'avatar')),
  );

  typed.get(
    '/v1/me/avatar',
    { config: { access: 'authenticated' }, schema: { summary: 'Download your avatar', tags: ['me'], security, response: responses({ 200: Binary }) } },
    async (request, reply) => {
      const file = await readOwnFile(deps, requireAuth(request).userId, 'avatar');
      if (file === null) throw new AppError('not_found', { detail: 'no avatar' });
      const untyped: FastifyReply = reply;
      return sendFile(untyped, file);
    },
  );

  typed.get(
    '/v1/admin/users/:id/files',
    { config: { access: { permission: 'users:read' } }, schema: { summary: 'A user\'s files (audited)', tags: ['admin'], security, params: UserParams, response: responses({ 200: FileList }) } },
    async (request) => {
      if (!(await userExists(deps.db, request.params.id))) throw new AppError('not_found', { detail: 'no such user' });
      // As for every action on a user: not the files of an account holding permissions the reader lacks (support and an admin).
      await assertMayManage(deps.db, options.deps.authorizer, requireAuth(request).userId, request.params.id);
      const files = await listOwnFiles(deps, request.params.id);
      await audited(request, 'files.listed', request.params.id, {});
      return { files: files.map(fileJSON) };
    },
  );

  typed.get(
    '/v1/admin/users/:id/files/:fileId',
    { config: { access: { permission: 'users:read' } }, schema: { summary: 'Download a user\'s file (audited)', tags: ['admin'], security, params: UserFileParams, response: responses({ 200: Binary }) } },
    async (request, reply) => {
      await assertMayManage(deps.db, options.deps.authorizer, requireAuth(request).userId, request.params.id);
      const file = await readOwnFile(deps, request.params.id, { fileId: request.params.fileId });
      if (file === null) throw new AppError('not_found', { detail: 'no such file of this user' });
      await audited(request, 'file.downloaded', request.params.id, { file_id: file.id });
      const untyped: FastifyReply = reply;
      return sendFile(untyped, file);
    },
  );
};
