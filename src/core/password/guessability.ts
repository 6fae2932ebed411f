// How guessable a password is, by zxcvbn-ts with its common-password list (the top
// 49,000 from breach corpora), the English dictionaries and the keyboard graphs.
//
// Bounded work. zxcvbn-ts is superlinear in the length of the password and linear in the
// number of l33t variants it tries: with its defaults (256 characters, 100 variants) one
// adversarial 256-character input cost 2–5 s of CPU on this 2-core machine, an easy denial
// of service on a registration endpoint. So only the first SCORED_PREFIX_UNITS UTF-16 code
// units are scored, and at most L33T_VARIANTS l33t variants are tried: the worst input
// found then costs about 0.2 s of CPU (policy.security.test.ts keeps it under 1 s). A long
// password whose first 64 characters are hard to guess is hard to guess; one whose prefix
// is weak ("passwordpassword…") is refused, as it should be.
// The common-password list itself is checked against the whole password, not the prefix.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ZxcvbnFactory, type ZxcvbnResult } from '@zxcvbn-ts/core';
import { AppError } from '../errors.ts';
import { lazyModule } from '../lazy-module.ts';
import { rankOf, type CompactDictionaryData } from './compact-dictionary.ts';
import { COMMON_LIST, decodeDictionaryMessage, FRAME_BYTES, readFrameLength, type DictionaryMessage } from './dictionary-message.ts';

export const SCORED_PREFIX_UNITS = 64;
const L33T_VARIANTS = 10;

export interface Guessability {
  /** zxcvbn score 0–4 of the scored prefix. */
  readonly score: number;
  /** True when the password, or a l33t/reversed/capitalized spelling of it, is on the common list. */
  readonly common: boolean;
  /** Fixed sentences from zxcvbn's English translations; they never quote the password. */
  readonly feedback: readonly string[];
}

export interface GuessabilityEstimator {
  estimate(normalizedPassword: string, userInputs: readonly string[]): Promise<Guessability>;
  /** Resolves once estimates need no more loading: await it before opening a transaction that estimates. */
  ready(): Promise<void>;
}

/** The longest prefix of at most `maxUnits` UTF-16 units that does not split a surrogate pair. */
export function scoredPrefix(text: string, maxUnits: number): string {
  let end = 0;
  for (const codePoint of text) {
    if (end + codePoint.length > maxUnits) break;
    end += codePoint.length;
  }
  return text.slice(0, end);
}

// zxcvbn types matches loosely (an index signature of `any`); read the two fields needed
// as unknown.
function isSoleCommonMatch(result: ZxcvbnResult, scoredLength: number): boolean {
  if (result.sequence.length !== 1) return false;
  const match: Record<string, unknown> = { ...result.sequence[0] };
  return match['pattern'] === 'dictionary' && match['dictionaryName'] === COMMON_LIST && match['i'] === 0 && match['j'] === scoredLength - 1;
}

function feedbackOf(result: ZxcvbnResult): string[] {
  const { warning, suggestions } = result.feedback;
  return warning === null || warning === '' ? [...suggestions] : [warning, ...suggestions];
}

interface Dictionaries {
  readonly zxcvbn: ZxcvbnFactory;
  readonly commonLowercase: CompactDictionaryData;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

// zxcvbn-ts reads a list only as `list[substring]` (matcher/dictionary/matching), so a
// proxy over the compact form answers as its plain object would for every listed word
// (and, unlike it, finds no Object.prototype name such as "constructor"). Its Levenshtein
// option would enumerate the keys instead, so it stays off (it is off by default).
function rankedView(data: CompactDictionaryData): Record<string, number> {
  const target: Record<string, number> = Object.create(null) as Record<string, number>;
  return new Proxy(target, { get: (_target, key) => (typeof key === 'string' ? rankOf(data, key) : undefined) });
}

// zxcvbn-ts builds its ranked lists from arrays in its constructor and offers no way to
// pass them prebuilt, so the lists are given empty (which keeps their names, used in
// scoring and feedback) and the built ones put in their place. That reaches into a
// private field: this checks the field is where 4.x keeps it and fails loudly otherwise,
// and guessability.test.ts compares every result with zxcvbn-ts's own build of the lists.
function scorerFor(message: DictionaryMessage): ZxcvbnFactory {
  const names = Object.keys(message.dictionaries);
  const zxcvbn = new ZxcvbnFactory({
    dictionary: Object.fromEntries(names.map((name) => [name, []])),
    graphs: message.graphs,
    translations: message.translations,
    l33tMaxSubstitutions: L33T_VARIANTS,
    maxLength: SCORED_PREFIX_UNITS,
    useLevenshteinDistance: false,
  });
  const options: unknown = Reflect.get(zxcvbn, 'options');
  const ranked = isRecord(options) ? options['rankedDictionaries'] : undefined;
  const sizes = isRecord(options) ? options['rankedDictionariesMaxWordSize'] : undefined;
  if (!isRecord(ranked) || !isRecord(sizes) || names.some((name) => !(name in ranked) || !(name in sizes))) {
    throw new Error('@zxcvbn-ts/core no longer keeps its ranked dictionaries in options.rankedDictionaries');
  }
  for (const [name, data] of Object.entries(message.dictionaries)) {
    ranked[name] = rankedView(data);
    sizes[name] = data.maxLength;
  }
  return zxcvbn;
}

const BUILDER = fileURLToPath(new URL('./dictionary-builder.ts', import.meta.url));
// The lists take about 9 MB; the limits only stop a runaway builder.
const BUILDER_OUTPUT_LIMIT = 64 * 1024 * 1024;
// A hundred times what it takes (0.3 s of CPU); a test shortens it.
const BUILDER_TIMEOUT_MS = 30_000;
const DICTIONARY_RETRY_AFTER_SECONDS = '5';

/**
 * Collects a framed output (its length first) into one buffer allocated once, letting each
 * chunk go as soon as it is copied, so the 9 MB are never held twice (the chunks and their
 * join). Measured, the resident set once idle is the same either way.
 */
function framedCollector(limit: number): { push(chunk: Buffer): boolean; result(): Uint8Array | null } {
  let head = Buffer.alloc(0);
  let bytes: Uint8Array | null = null;
  let filled = 0;
  return {
    push(chunk) {
      let rest = chunk;
      if (bytes === null) {
        head = Buffer.concat([head, rest]);
        if (head.length < FRAME_BYTES) return true;
        const length = readFrameLength(head);
        if (length > limit) return false;
        bytes = new Uint8Array(length);
        rest = head.subarray(FRAME_BYTES);
        head = Buffer.alloc(0);
      }
      if (filled + rest.length > bytes.length) return false;
      bytes.set(rest, filled);
      filled += rest.length;
      return true;
    },
    result: () => (bytes !== null && filled === bytes.length ? bytes : null),
  };
}

/** Runs the builder (another script only in tests) and reads what it wrote. */
export function runDictionaryBuilder(builder = BUILDER, timeoutMs = BUILDER_TIMEOUT_MS): Promise<DictionaryMessage> {
  return new Promise((resolve, reject) => {
    // Not the server's environment, which holds its secrets: only where Node's compile
    // cache is, when one is set that way (the test runs do).
    const cache = process.env['NODE_COMPILE_CACHE'];
    const env = cache === undefined ? {} : { NODE_COMPILE_CACHE: cache };
    const child = spawn(process.execPath, [builder], { stdio: ['ignore', 'pipe', 'inherit'], env });
    const collector = framedCollector(BUILDER_OUTPUT_LIMIT);
    let overflow = false;
    // Killed (SIGKILL: it cannot be ignored) and given up on at the deadline, whether or
    // not its pipes ever close, so a stuck builder cannot leave every password set waiting.
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the password dictionary builder did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    deadline.unref();
    child.stdout.on('data', (chunk: Buffer) => {
      if (!overflow && !collector.push(chunk)) {
        overflow = true;
        child.kill('SIGKILL');
      }
    });
    child.once('error', (error) => {
      clearTimeout(deadline);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(deadline);
      const bytes = collector.result();
      if (code !== 0 || overflow || bytes === null) {
        const output = overflow ? 'more output than expected' : bytes === null ? 'output incomplete' : 'output complete';
        reject(new Error(`the password dictionary builder failed (exit code ${String(code)}, signal ${String(signal)}, ${output})`));
        return;
      }
      try {
        resolve(decodeDictionaryMessage(bytes));
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
}

// The lists are read once per process, by a child process (dictionary-builder.ts: about
// 0.3 s of CPU there, none in the server), and shared by every estimator: they are immutable, and zxcvbn-ts's
// check() takes the user inputs per call. Only flows that set a password need them (never
// login, refresh or token checks), so a server starts and answers /readyz without them;
// `gatehouse serve` asks for them once it is idle (preloadGuessability). A failed load is
// tried again by the next estimate.
// A password is never set unchecked: while the lists cannot be loaded, setting one answers
// 503 service_unavailable (fail closed), and the next attempt runs the builder again.
const sharedDictionaries = lazyModule(async (): Promise<Dictionaries> => {
  try {
    const message = await runDictionaryBuilder();
    return { zxcvbn: scorerFor(message), commonLowercase: message.commonLowercase };
  } catch (error) {
    throw new AppError('service_unavailable', { cause: error, detail: 'password dictionaries not loaded', headers: { 'retry-after': DICTIONARY_RETRY_AFTER_SECONDS } });
  }
});

/** The shared zxcvbn-ts instance, for guessability.test.ts to compare with zxcvbn-ts's own build. */
export async function sharedScorer(): Promise<ZxcvbnFactory> {
  return (await sharedDictionaries()).zxcvbn;
}

/** Loads the shared dictionaries now, so the first password set later does not wait for them. */
export function preloadGuessability(): Promise<void> {
  return sharedDictionaries().then(() => undefined);
}

export function createGuessabilityEstimator(): GuessabilityEstimator {
  return {
    ready: preloadGuessability,
    async estimate(normalizedPassword, userInputs) {
      const { zxcvbn, commonLowercase } = await sharedDictionaries();
      const prefix = scoredPrefix(normalizedPassword, SCORED_PREFIX_UNITS);
      const result = zxcvbn.check(prefix, [...userInputs]);
      const wholeIsScored = prefix.length === normalizedPassword.length;
      const common = rankOf(commonLowercase, normalizedPassword.toLowerCase()) !== undefined || (wholeIsScored && isSoleCommonMatch(result, prefix.length));
      return { score: result.score, common, feedback: feedbackOf(result) };
    },
  };
}
