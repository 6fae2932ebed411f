// Messages between the benchmark (parent) and the server it runs in a child process.
import type { Engine } from '../../src/core/db/database.ts';

export interface StartMessage {
  readonly type: 'start';
  readonly engine: Engine;
  /** PostgreSQL: the fresh database's URL. Null for PGlite. */
  readonly databaseURL: string | null;
  /** Scratch directory (PGlite's data lives in `<dataDir>/pglite`). */
  readonly dataDir: string;
  readonly users: number;
  readonly password: string;
  /** Configuration overrides (limits raised for the benchmark). */
  readonly env: Readonly<Record<string, string>>;
  /**
   * Hash passwords at Argon2id's minimum cost instead of production's: what is left of a
   * login is everything but the hash, measured apart (--login-overhead). Never a goal figure.
   */
  readonly minimalHashCost: boolean;
}

export interface ReadyMessage {
  readonly type: 'ready';
  readonly appURL: string;
  readonly bareURL: string;
  readonly emails: readonly string[];
  readonly setupMs: number;
  readonly poolMax: number | null;
  readonly threadpoolSize: number;
  /**
   * Whether this process loaded Node's type stripper (a WebAssembly build of SWC, about
   * 12 MB resident from then on): it does when a module it imports is not yet in the compile
   * cache. `npm start` finds every module of a start there after its first start.
   */
  readonly typeStripperLoaded: boolean;
}

/** The JSON the bare route answers with: the server's own /v1/me body, byte for byte. */
export interface BareBodyMessage {
  readonly type: 'bare-body';
  readonly body: unknown;
}

export interface MemoryRequest {
  readonly type: 'memory';
}

/** The server's process.memoryUsage(), in MB. */
export interface ServerMemory {
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
  /** V8's young generation (new space) and old generation, committed MB. */
  readonly newSpace: number;
  readonly oldSpace: number;
  /** Live heap after a full collection: only when the server runs with --expose-gc. */
  readonly liveHeapAfterGC: number | null;
}

export interface MemoryMessage {
  readonly type: 'memory';
  readonly memory: ServerMemory;
}

export interface StopMessage {
  readonly type: 'stop';
}

export interface AckMessage {
  readonly type: 'ack';
}

export interface FailedMessage {
  readonly type: 'failed';
  readonly message: string;
}

export type ParentMessage = StartMessage | BareBodyMessage | MemoryRequest | StopMessage;
export type ChildMessage = ReadyMessage | AckMessage | MemoryMessage | FailedMessage;

function hasType(value: unknown): value is { type: unknown } {
  return typeof value === 'object' && value !== null && 'type' in value;
}

export function isParentMessage(value: unknown): value is ParentMessage {
  return hasType(value) && (value.type === 'start' || value.type === 'bare-body' || value.type === 'memory' || value.type === 'stop');
}

export function isChildMessage(value: unknown): value is ChildMessage {
  return hasType(value) && (value.type === 'ready' || value.type === 'ack' || value.type === 'memory' || value.type === 'failed');
}
