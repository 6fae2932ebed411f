// A labelled file input and a button that sends the chosen file: "Your files" and the
// avatar. The file stays chosen after a problem (the form never loses its input); the
// input is cleared only once the upload was stored.
import { useId, useRef, type ReactNode } from 'react';
import type { Outcome } from '../../api/problem.ts';
import { SubmitButton, useAction } from '../../components/form.tsx';
import { AccountProblem } from './shared.tsx';

export function UploadForm<T>(props: {
  readonly label: string;
  readonly hint: string;
  /** Advice for the browser's file chooser only: the server decides the type by content. */
  readonly accept: string;
  readonly submitText: string;
  readonly busyText: string;
  readonly send: (file: File) => Promise<Outcome<T>>;
  readonly onDone: (data: T) => void;
}): ReactNode {
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const action = useAction();
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        const form = event.currentTarget;
        // `required` keeps the form from being sent without a file.
        const file = input.current?.files?.[0];
        if (file === undefined) return;
        void action.run(() => props.send(file)).then((answer) => {
          if (answer === null) return;
          form.reset();
          props.onDone(answer);
        });
      }}
    >
      <AccountProblem problem={action.problem} />
      <div className="field">
        <label htmlFor={id}>{props.label}</label>
        <p className="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
        <input ref={input} id={id} name="file" type="file" required accept={props.accept} aria-describedby={`${id}-hint`} />
      </div>
      <SubmitButton busy={action.busy} busyText={props.busyText}>
        {props.submitText}
      </SubmitButton>
    </form>
  );
}
