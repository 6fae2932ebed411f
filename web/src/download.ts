// Saving a file the API answered (the data export's ZIP): the answer is fetched through the
// typed client like any other call (so the CSRF header, the session's renewal and the
// step-up dialog apply), then handed to the browser as a download. Nothing is inlined: an
// object URL on a temporary <a download>, which the page's CSP does not govern (no
// directive restricts downloads), and which is no Trusted Types sink.

/** The file name of a `content-disposition: attachment; filename="…"` header, when it is a plain one. */
export function attachmentName(response: Response, fallback: string): string {
  const match = /filename="([\w.-]{1,100})"/.exec(response.headers.get('content-disposition') ?? '');
  return match?.[1] ?? fallback;
}

// Revoking the URL at once can cancel a download some browsers start asynchronously.
const REVOKE_AFTER_MS = 30_000;

/** Hands `blob` to the browser's downloads as `filename`. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.hidden = true;
  // Attached while clicked: some browsers ignore a click on a detached link.
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => {
    URL.revokeObjectURL(url);
  }, REVOKE_AFTER_MS);
}
