// A destructive action in two steps, asked in place (no window.confirm: it blocks, and
// cannot be styled or labelled): the button asks, and only "yes" acts. The question names
// what will happen, so it is never a reflexive click. Keyboard focus follows the question:
// to its answer, then back to the button.
import { useEffect, useRef, useState, type ReactNode } from 'react';

export function ConfirmButton(props: {
  readonly label: string;
  /** What a screen reader announces when the label alone is ambiguous ("Delete" among several); also names the question's group. */
  readonly name?: string;
  readonly question: ReactNode;
  readonly confirmLabel: string;
  readonly busy: boolean;
  readonly onConfirm: () => void;
}): ReactNode {
  // null until first asked, so focus moves only after the user's own click.
  const [asking, setAsking] = useState<boolean | null>(null);
  const ask = useRef<HTMLButtonElement>(null);
  const yes = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking === true) yes.current?.focus();
    if (asking === false) ask.current?.focus();
  }, [asking]);
  if (asking !== true) {
    return (
      <button
        ref={ask}
        type="button"
        className="button-secondary"
        disabled={props.busy}
        aria-label={props.name}
        onClick={() => {
          setAsking(true);
        }}
      >
        {props.label}
      </button>
    );
  }
  return (
    <div className="confirm" role="group" aria-label={props.name ?? props.label}>
      <p>{props.question}</p>
      <div className="button-row">
        <button
          ref={yes}
          type="button"
          className="button-danger"
          disabled={props.busy}
          onClick={() => {
            setAsking(false);
            props.onConfirm();
          }}
        >
          {props.confirmLabel}
        </button>
        <button
          type="button"
          className="button-secondary"
          onClick={() => {
            setAsking(false);
          }}
        >
          Cancel
        </button>
      </div>
    </div>
  );
}
