// The avatar on the overview page. GET /v1/me/avatar answers the image as an attachment
// with a sandbox CSP, so it cannot be an <img src> of the API: it is fetched through the
// api client as a blob and shown from an object URL (the page's CSP allows `img-src blob:`
// for this), revoked when the picture changes or the page is left.
import { useEffect, useState, type ReactNode } from 'react';
import { fetchAvatar, setAvatar } from './uploads.ts';
import { UploadForm } from './upload-form.tsx';
import { AccountProblem, Done, Loading } from './shared.tsx';
import { useLoad } from './use-load.ts';

/** An object URL for `blob` while the component shows it. */
function useObjectURL(blob: Blob | null): string | null {
  const [url, setURL] = useState<string | null>(null);
  useEffect(() => {
    if (blob === null) {
      setURL(null);
      return undefined;
    }
    const created = URL.createObjectURL(blob);
    setURL(created);
    return () => {
      URL.revokeObjectURL(created);
    };
  }, [blob]);
  return url;
}

export function AvatarSection(): ReactNode {
  const loaded = useLoad(fetchAvatar);
  const [changed, setChanged] = useState(false);
  const { outcome } = loaded;
  const url = useObjectURL(outcome?.ok === true ? outcome.data : null);
  return (
    <>
      {outcome === null ? <Loading>Loading your picture…</Loading> : null}
      {outcome?.ok === false ? <AccountProblem problem={outcome.problem} /> : null}
      {url === null ? null : <img className="avatar" src={url} alt="Your picture" width={128} height={128} />}
      {outcome?.ok === true && outcome.data === null ? <p>You have no picture yet.</p> : null}
      {changed ? <Done>Your picture was changed.</Done> : null}
      <UploadForm
        label="New picture"
        hint="A PNG, JPEG or WebP image; it is cropped to a square."
        accept="image/png,image/jpeg,image/webp"
        submitText="Change picture"
        busyText="Uploading…"
        send={async (file) => {
          setChanged(false);
          return setAvatar(file);
        }}
        onDone={() => {
          setChanged(true);
          loaded.reload();
        }}
      />
    </>
  );
}
