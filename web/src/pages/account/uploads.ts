// The calls behind "Your files" and the avatar (docs/privacy.md#uploaded-files), through the
// typed client like every other call: the CSRF header, the session's renewal and the
// problem shapes apply. Downloads come back as blobs (the server answers each as an
// attachment with a sandbox CSP, never a page to open), so nothing is fetched by URL.
import { api } from '../../api/client.ts';
import { settle, type Outcome } from '../../api/problem.ts';
import { attachmentName } from '../../download.ts';
import type { AccountFile } from './types.ts';

export interface DownloadedFile {
  readonly blob: Blob;
  readonly filename: string;
}

/**
 * The request options of an upload: one multipart part named `file` (receive.ts). The
 * generated types describe an OpenAPI `format: binary` part as a string, so the body holds
 * the name for the types and the serializer sends the File itself; openapi-fetch leaves the
 * Content-Type of a FormData body to the browser, which adds the boundary.
 */
function multipart(file: File): { readonly body: { readonly file: string }; readonly bodySerializer: () => FormData } {
  return {
    body: { file: file.name },
    bodySerializer: () => {
      const form = new FormData();
      form.append('file', file, file.name);
      return form;
    },
  };
}

export async function uploadFile(file: File): Promise<Outcome<AccountFile>> {
  return settle(api.POST('/v1/me/files', multipart(file)));
}

export async function setAvatar(file: File): Promise<Outcome<AccountFile>> {
  return settle(api.PUT('/v1/me/avatar', multipart(file)));
}

/** The account's files and its storage limits. */
export interface FileListing {
  readonly files: readonly AccountFile[];
  readonly quotaBytes: number;
  readonly maxFileBytes: number;
}

export async function listFiles(): Promise<Outcome<FileListing>> {
  const outcome = await settle(api.GET('/v1/me/files'));
  return outcome.ok ? { ok: true, data: { files: outcome.data.files, quotaBytes: outcome.data.quota_bytes, maxFileBytes: outcome.data.max_file_bytes } } : outcome;
}

export async function deleteFile(id: string): Promise<Outcome<unknown>> {
  return settle(api.DELETE('/v1/me/files/{id}', { params: { path: { id } } }));
}

export async function downloadFile(file: AccountFile): Promise<Outcome<DownloadedFile>> {
  const pending = api.GET('/v1/me/files/{id}', { params: { path: { id: file.id } }, parseAs: 'blob' });
  const outcome = await settle(pending);
  if (!outcome.ok) return outcome;
  // Settled without a problem, so the call resolved: its response names the file.
  const { response } = await pending;
  return { ok: true, data: { blob: outcome.data, filename: attachmentName(response, file.name) } };
}

/** The avatar's image, or null when none is set (404). */
export async function fetchAvatar(): Promise<Outcome<Blob | null>> {
  const outcome = await settle(api.GET('/v1/me/avatar', { parseAs: 'blob' }));
  if (!outcome.ok && outcome.problem.code === 'not_found') return { ok: true, data: null };
  return outcome;
}
