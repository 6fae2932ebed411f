// Recovery codes, shown once: right after the first second factor is added and whenever
// new ones are made. The server keeps only their hashes, so this is the user's only look.
import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { Done } from './shared.tsx';

export function RecoveryCodes(props: { readonly codes: readonly string[]; readonly onDismiss: () => void }): ReactNode {
  const heading = useRef<HTMLHeadingElement>(null);
  const headingId = useId();
  const [copied, setCopied] = useState<boolean | null>(null);
  // Announced and in view at once: the codes appear above the part of the page that was used.
  useEffect(() => {
    heading.current?.focus();
  }, []);
  const canCopy = typeof navigator.clipboard === 'object';
  return (
    <section className="codes-panel" aria-labelledby={headingId}>
      <h2 id={headingId} ref={heading} tabIndex={-1}>
        Save your recovery codes now
      </h2>
      <p>
        <strong>They are shown only this once.</strong> Each code signs you in once when you cannot use your authenticator app or
        passkey. Keep them somewhere safe, such as a password manager, or print them.
      </p>
      <ul className="codes" aria-label="Recovery codes">
        {props.codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ul>
      {copied === true ? <Done>The codes were copied.</Done> : null}
      {copied === false ? <p role="alert">The codes could not be copied: select and copy them by hand.</p> : null}
      <div className="button-row">
        {canCopy ? (
          <button
            type="button"
            className="button-secondary"
            onClick={() => {
              navigator.clipboard.writeText(props.codes.join('\n')).then(
                () => {
                  setCopied(true);
                },
                () => {
                  setCopied(false);
                },
              );
            }}
          >
            Copy the codes
          </button>
        ) : null}
        <button type="button" className="button-primary" onClick={props.onDismiss}>
          I have saved them
        </button>
      </div>
    </section>
  );
}
