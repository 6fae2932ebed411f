// One failing panel must not blank the whole app: each page (and each panel inside one)
// sits in a boundary that shows a message and a way to try again.
import { Component, type ErrorInfo, type ReactNode } from 'react';

interface Props {
  readonly children: ReactNode;
  /** What failed, for the message ("this page", "the session list"). */
  readonly what?: string;
}

interface State {
  readonly failed: boolean;
}

export class ErrorBoundary extends Component<Props, State> {
  override state: State = { failed: false };

  static getDerivedStateFromError(): State {
    return { failed: true };
  }

  override componentDidCatch(error: unknown, info: ErrorInfo): void {
    // The console only: nothing is sent anywhere (no third-party requests).
    console.error('gatehouse: a panel failed', error, info.componentStack);
  }

  override render(): ReactNode {
    if (!this.state.failed) return this.props.children;
    return (
      <div className="alert alert-error" role="alert">
        <p>Something went wrong while showing {this.props.what ?? 'this part of the page'}.</p>
        <button
          type="button"
          className="button-secondary"
          onClick={() => {
            this.setState({ failed: false });
          }}
        >
          Try again
        </button>
      </div>
    );
  }
}
