// Closed-loop load: `concurrency` virtual clients each send one request, wait for its
// answer, and send the next, from the start until warm-up plus the measured window has
// passed. Only requests that finish inside the window count, so the rate is completions
// per second of steady state and the latencies are those of the same requests.
import { percentile, round, sortAscending } from './stats.ts';

/** What one request of a virtual client came to; `stop` retires the client (a broken chain). */
export type Outcome = 'ok' | 'error' | 'stop';

export interface PhaseOptions {
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Called when the measured window opens and closes, e.g. to read CPU counters. */
  readonly onWindowStart?: () => void;
  readonly onWindowEnd?: () => void;
  /** Aborting ends the phase early (Ctrl-C); the run then cleans up. */
  readonly signal?: AbortSignal;
}

export interface PhaseResult {
  readonly completed: number;
  readonly errors: number;
  readonly stoppedClients: number;
  readonly perSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly seconds: number;
}

export async function runClosedLoop(options: PhaseOptions, send: (client: number) => Promise<Outcome>): Promise<PhaseResult> {
  const from = performance.now() + options.warmupMs;
  const until = from + options.durationMs;
  const latencies: number[] = [];
  let errors = 0;
  let stoppedClients = 0;
  let windowOpen = false;
  const endWindow = (): void => {
    if (!windowOpen) return;
    windowOpen = false;
    options.onWindowEnd?.();
  };
  const startTimer = setTimeout(() => {
    windowOpen = true;
    options.onWindowStart?.();
  }, options.warmupMs);
  const endTimer = setTimeout(endWindow, options.warmupMs + options.durationMs);

  async function client(index: number): Promise<void> {
    while (performance.now() < until && options.signal?.aborted !== true) {
      const started = performance.now();
      let outcome: Outcome;
      try {
        outcome = await send(index);
      } catch {
        outcome = 'error';
      }
      const finished = performance.now();
      const inWindow = finished >= from && finished < until;
      if (outcome === 'ok' && inWindow) latencies.push(finished - started);
      if (outcome !== 'ok' && inWindow) errors += 1;
      if (outcome === 'stop') {
        stoppedClients += 1;
        return;
      }
    }
  }

  try {
    await Promise.all(Array.from({ length: options.concurrency }, (_, index) => client(index)));
  } finally {
    clearTimeout(startTimer);
    clearTimeout(endTimer);
    // Every client retired early: close the window now rather than never.
    endWindow();
  }
  const sorted = sortAscending(latencies);
  const seconds = options.durationMs / 1000;
  return {
    completed: sorted.length,
    errors,
    stoppedClients,
    perSecond: round(sorted.length / seconds, 1),
    latencyMs: { p50: round(percentile(sorted, 50)), p99: round(percentile(sorted, 99)), max: round(sorted.at(-1) ?? Number.NaN) },
    seconds,
  };
}
