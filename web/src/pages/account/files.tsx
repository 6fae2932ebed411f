// /account/files: the files a user keeps on their account (docs/privacy.md#uploaded-files).
// Upload one (its type is decided by the server from the content), list them, download one
// (a blob through the api client, handed to the browser's downloads) and delete one. A
// file's name is whatever the uploader chose: it is shown as text only.
import { useState, type ReactNode } from 'react';
import { ConfirmButton } from '../../components/confirm-button.tsx';
import { useAction } from '../../components/form.tsx';
import { Card } from '../../components/layout.tsx';
import { saveBlob } from '../../download.ts';
import { AccountProblem, DateTime, Done, Loading } from './shared.tsx';
import type { AccountFile } from './types.ts';
import { UploadForm } from './upload-form.tsx';
import { deleteFile, downloadFile, listFiles, uploadFile, type FileListing } from './uploads.ts';
import { useLoad } from './use-load.ts';

const TYPE_LABELS: Readonly<Record<AccountFile['media_type'], string>> = {
  'image/png': 'PNG image',
  'image/jpeg': 'JPEG image',
  'image/webp': 'WebP image',
  'application/pdf': 'PDF document',
  'text/plain': 'Text file',
};

const ACCEPT = 'image/png,image/jpeg,image/webp,application/pdf,text/plain,.png,.jpg,.jpeg,.webp,.pdf,.txt';
const UNITS = ['bytes', 'KB', 'MB', 'GB'] as const;
const NUMBER = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

/** 1536 → "1.5 KB" (units of 1024, as the upload limit is counted). */
export function formatSize(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${NUMBER.format(value)} ${UNITS[unit] ?? 'bytes'}`;
}

function FileItem(props: { readonly file: AccountFile; readonly onDeleted: () => void }): ReactNode {
  const { file } = props;
  const download = useAction();
  const removal = useAction();
  return (
    <li className="item">
      <p className="item-title">
        <span className="file-name">{file.name}</span>
        {file.purpose === 'avatar' ? <span className="badge">Your picture</span> : null}
      </p>
      <dl className="details">
        <dt>Type</dt>
        <dd>{TYPE_LABELS[file.media_type]}</dd>
        <dt>Size</dt>
        <dd>{formatSize(file.size_bytes)}</dd>
        <dt>Uploaded</dt>
        <dd>
          <DateTime value={file.created_at} />
        </dd>
      </dl>
      <AccountProblem problem={download.problem ?? removal.problem} />
      <div className="button-row">
        <button
          type="button"
          className="button-secondary"
          disabled={download.busy}
          aria-label={`Download ${file.name}`}
          onClick={() => {
            void download.run(() => downloadFile(file)).then((saved) => {
              if (saved !== null) saveBlob(saved.blob, saved.filename);
            });
          }}
        >
          {download.busy ? 'Downloading…' : 'Download'}
        </button>
        <ConfirmButton
          label="Delete"
          name={`Delete ${file.name}`}
          question="Delete this file? It cannot be recovered."
          confirmLabel="Yes, delete it"
          busy={removal.busy}
          onConfirm={() => {
            void removal.run(() => deleteFile(file.id)).then((answer) => {
              if (answer !== null) props.onDeleted();
            });
          }}
        />
      </div>
    </li>
  );
}

function FileList(props: { readonly listing: FileListing; readonly onDeleted: () => void }): ReactNode {
  const { files, quotaBytes, maxFileBytes } = props.listing;
  const limits = `You may store ${formatSize(quotaBytes)} in all, ${formatSize(maxFileBytes)} a file.`;
  if (files.length === 0) return <p>You have no files yet. {limits}</p>;
  const total = files.reduce((sum, file) => sum + file.size_bytes, 0);
  return (
    <>
      <p>
        {files.length === 1 ? '1 file' : `${files.length} files`}, {formatSize(total)} of {formatSize(quotaBytes)} used; {formatSize(maxFileBytes)} at most a file.
      </p>
      <ul className="item-list" aria-label="Files">
        {files.map((file) => (
          <FileItem key={file.id} file={file} onDeleted={props.onDeleted} />
        ))}
      </ul>
    </>
  );
}

export function FilesPage(): ReactNode {
  const loaded = useLoad(listFiles);
  const [done, setDone] = useState<string | null>(null);
  const { outcome } = loaded;
  return (
    <Card title="Your files" busy={outcome === null}>
      <p>Keep files on your account: PNG, JPEG or WebP images, PDF documents and plain text files. Images are stored without their metadata (such as where a photo was taken).</p>
      <h2>Upload a file</h2>
      <UploadForm
        label="File"
        hint="A PNG, JPEG or WebP image, a PDF or a plain text file."
        accept={ACCEPT}
        submitText="Upload"
        busyText="Uploading…"
        send={async (file) => {
          setDone(null);
          return uploadFile(file);
        }}
        onDone={() => {
          setDone('Your file was uploaded.');
          loaded.reload();
        }}
      />
      <h2>Files on your account</h2>
      {done === null ? null : <Done>{done}</Done>}
      {outcome === null ? <Loading>Loading your files…</Loading> : null}
      {outcome?.ok === false ? <AccountProblem problem={outcome.problem} /> : null}
      {outcome?.ok === true ? (
        <FileList
          listing={outcome.data}
          onDeleted={() => {
            setDone('The file was deleted.');
            loaded.reload();
          }}
        />
      ) : null}
    </Card>
  );
}
