// What dictionary-builder.ts (a child process) writes to its standard output for
// guessability.ts: a length-prefixed JSON header (the keyboard graphs, the feedback
// sentences, each list's name and array lengths), then every list's typed arrays one after
// the other, each padded to 4 bytes. The reader makes views into the one buffer it
// received, so the lists cost their own size and nothing more: structured-clone IPC
// copied them again and left about 10 MB more resident.
import type { OptionsGraph, TranslationKeys } from '@zxcvbn-ts/core';
import type { CompactDictionaryData } from './compact-dictionary.ts';

/** zxcvbn-ts's list of leaked passwords, which also decides the `common_password` refusal. */
export const COMMON_LIST = 'passwords-common';

export interface DictionaryMessage {
  /** Every list zxcvbn-ts scores against, by its name there ("commonWords-en", ...). */
  readonly dictionaries: Readonly<Record<string, CompactDictionaryData>>;
  /** The common-password list in lower case, checked against the whole password. */
  readonly commonLowercase: CompactDictionaryData;
  readonly graphs: OptionsGraph;
  readonly translations: TranslationKeys;
}

interface Layout {
  readonly name: string;
  readonly maxLength: number;
  readonly units: number;
  readonly starts: number;
  readonly ranks: number;
  readonly slots: number;
}

interface Header {
  readonly graphs: OptionsGraph;
  readonly translations: TranslationKeys;
  readonly lists: readonly Layout[];
}

// The lowercase common list travels as one more list under a name no zxcvbn list has.
const COMMON_LOWERCASE = '\u0000common-lowercase';
const LENGTH_BYTES = 4;
const pad = (bytes: number): number => (4 - (bytes % 4)) % 4;

const readUint32 = (bytes: Uint8Array, offset: number): number => new DataView(bytes.buffer, bytes.byteOffset + offset, LENGTH_BYTES).getUint32(0, true);

function uint32(value: number): Buffer {
  const bytes = Buffer.alloc(LENGTH_BYTES);
  bytes.writeUInt32LE(value);
  return bytes;
}

/**
 * The message as byte chunks to write in order: first the length of all that follows
 * (FRAME_BYTES, read with readFrameLength, so the reader allocates once), then the message.
 */
export function encodeDictionaryMessage(message: DictionaryMessage): Uint8Array[] {
  const named: [string, CompactDictionaryData][] = [...Object.entries(message.dictionaries), [COMMON_LOWERCASE, message.commonLowercase]];
  const header: Header = {
    graphs: message.graphs,
    translations: message.translations,
    lists: named.map(([name, data]) => ({ name, maxLength: data.maxLength, units: data.units.length, starts: data.starts.length, ranks: data.ranks.length, slots: data.slots.length })),
  };
  const json = Buffer.from(JSON.stringify(header));
  const chunks: Uint8Array[] = [uint32(json.length), json, new Uint8Array(pad(LENGTH_BYTES + json.length))];
  for (const [, data] of named) {
    for (const array of [data.units, data.starts, data.ranks, data.slots]) {
      chunks.push(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), new Uint8Array(pad(array.byteLength)));
    }
  }
  return [uint32(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0)), ...chunks];
}

export const FRAME_BYTES = LENGTH_BYTES;

/** The message's length, from the frame's first FRAME_BYTES bytes. */
export function readFrameLength(frame: Uint8Array): number {
  return readUint32(frame, 0);
}

function isLayout(value: unknown): value is Layout {
  if (typeof value !== 'object' || value === null) return false;
  const fields: Record<string, unknown> = { ...value };
  return typeof fields['name'] === 'string' && ['maxLength', 'units', 'starts', 'ranks', 'slots'].every((key) => Number.isSafeInteger(fields[key]) && Number(fields[key]) >= 0);
}

function readHeader(bytes: Uint8Array): { header: Header; offset: number } {
  if (bytes.byteLength < LENGTH_BYTES) throw new Error('password dictionaries: no header');
  const length = readUint32(bytes, 0);
  if (LENGTH_BYTES + length > bytes.byteLength) throw new Error('password dictionaries: truncated header');
  const parsed: unknown = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + LENGTH_BYTES, length).toString('utf8'));
  if (typeof parsed !== 'object' || parsed === null) throw new Error('password dictionaries: malformed header');
  const fields: Record<string, unknown> = { ...parsed };
  const lists = fields['lists'];
  if (!Array.isArray(lists) || !lists.every(isLayout) || typeof fields['graphs'] !== 'object' || typeof fields['translations'] !== 'object') {
    throw new Error('password dictionaries: malformed header');
  }
  // The builder is this package's own code: its header is trusted to hold the shapes
  // zxcvbn-ts gave it, and the lengths are checked against the bytes below.
  const header = { graphs: fields['graphs'] as OptionsGraph, translations: fields['translations'] as TranslationKeys, lists };
  return { header, offset: LENGTH_BYTES + length + pad(LENGTH_BYTES + length) };
}

/** The message from the bytes the builder wrote; views into `bytes`, which must start 4-byte aligned. */
export function decodeDictionaryMessage(bytes: Uint8Array): DictionaryMessage {
  if (bytes.byteOffset % 4 !== 0) throw new Error('password dictionaries: unaligned buffer');
  const { header, offset: start } = readHeader(bytes);
  let offset = start;
  const take = <T>(count: number, size: number, make: (buffer: ArrayBuffer, byteOffset: number, length: number) => T): T => {
    const byteLength = count * size;
    if (offset + byteLength > bytes.byteLength) throw new Error('password dictionaries: truncated lists');
    const view = make(bytes.buffer as ArrayBuffer, bytes.byteOffset + offset, count);
    offset += byteLength + pad(byteLength);
    return view;
  };
  const dictionaries: Record<string, CompactDictionaryData> = {};
  let commonLowercase: CompactDictionaryData | null = null;
  for (const layout of header.lists) {
    const data: CompactDictionaryData = {
      units: take(layout.units, 2, (buffer, at, count) => new Uint16Array(buffer, at, count)),
      starts: take(layout.starts, 4, (buffer, at, count) => new Uint32Array(buffer, at, count)),
      ranks: take(layout.ranks, 4, (buffer, at, count) => new Uint32Array(buffer, at, count)),
      slots: take(layout.slots, 4, (buffer, at, count) => new Uint32Array(buffer, at, count)),
      maxLength: layout.maxLength,
    };
    if (data.starts.length !== data.ranks.length + 1 || data.slots.length === 0 || (data.slots.length & (data.slots.length - 1)) !== 0) {
      throw new Error(`password dictionaries: inconsistent list ${layout.name}`);
    }
    if (layout.name === COMMON_LOWERCASE) commonLowercase = data;
    else dictionaries[layout.name] = data;
  }
  if (offset !== bytes.byteLength) throw new Error('password dictionaries: trailing bytes');
  if (commonLowercase === null || !(COMMON_LIST in dictionaries)) throw new Error('password dictionaries: the common-password list is missing');
  return { dictionaries, commonLowercase, graphs: header.graphs, translations: header.translations };
}
