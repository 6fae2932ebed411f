// A ranked word list in four typed arrays: an open-addressing hash table over the words'
// UTF-16 code units. zxcvbn-ts keeps each list as a plain object (word → rank), which for
// its 236,000 common-password, English and name entries is about 15 MB of V8 heap, plus
// the word arrays and the source text of the modules they come from; this form holds the
// same lists in about 9 MB outside the heap (guessability.ts), built by a child process
// (dictionary-builder.ts) so the lists' modules never load into the server at all.
//
// Same answers as zxcvbn-ts's buildRankedDictionary: a word's rank is its 1-based position
// in the list, and a word listed twice has the rank of its last occurrence. Unlike a plain
// object, a key such as "constructor" or "__proto__" is not found unless a list holds it.

/** A list as typed arrays (dictionary-message.ts carries them between processes). */
export interface CompactDictionaryData {
  /** Every distinct word's UTF-16 code units, one after the other. */
  readonly units: Uint16Array<ArrayBuffer>;
  /** Word i is units[starts[i] .. starts[i + 1]); one entry more than there are words. */
  readonly starts: Uint32Array<ArrayBuffer>;
  /** Word i's rank. */
  readonly ranks: Uint32Array<ArrayBuffer>;
  /** A power-of-two table of word index + 1 (0: empty slot), at most half full. */
  readonly slots: Uint32Array<ArrayBuffer>;
  /** The longest word, in UTF-16 code units (zxcvbn's rankedDictionariesMaxWordSize). */
  readonly maxLength: number;
}

// FNV-1a over the code units: cheap, and the table is built from public lists, so nothing
// an attacker controls decides its layout (a password only probes it).
function hashOf(word: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < word.length; index += 1) {
    hash = Math.imul(hash ^ word.charCodeAt(index), 0x01000193);
  }
  return hash >>> 0;
}

function sameWord(data: CompactDictionaryData, wordIndex: number, word: string): boolean {
  const start = data.starts[wordIndex] ?? 0;
  const end = data.starts[wordIndex + 1] ?? 0;
  if (end - start !== word.length) return false;
  for (let offset = 0; offset < word.length; offset += 1) {
    if (data.units[start + offset] !== word.charCodeAt(offset)) return false;
  }
  return true;
}

/** The slot holding `word`, or the empty slot where it would go (-1: neither, a full table). */
function probe(data: CompactDictionaryData, word: string, hash: number): number {
  const mask = data.slots.length - 1;
  let slot = hash & mask;
  // A table built here is at most half full; the bound only keeps a damaged one from
  // looping forever.
  for (let probes = 0; probes < data.slots.length; probes += 1) {
    const entry = data.slots[slot] ?? 0;
    if (entry === 0 || sameWord(data, entry - 1, word)) return slot;
    slot = (slot + 1) & mask;
  }
  return -1;
}

/** Builds the compact form of a list, ranked by position as zxcvbn-ts ranks it. */
export function buildCompactDictionary(list: readonly (string | number)[]): CompactDictionaryData {
  const words = list.map(String);
  let size = 2;
  while (size < words.length * 2) size *= 2;
  const totalUnits = words.reduce((sum, word) => sum + word.length, 0);
  const data = {
    units: new Uint16Array(totalUnits),
    starts: new Uint32Array(words.length + 1),
    ranks: new Uint32Array(words.length),
    slots: new Uint32Array(size),
    maxLength: 0,
  };
  let count = 0;
  let used = 0;
  words.forEach((word, position) => {
    const slot = probe(data, word, hashOf(word));
    if (slot === -1) throw new Error('compact dictionary: table full');
    const entry = data.slots[slot] ?? 0;
    if (entry !== 0) {
      data.ranks[entry - 1] = position + 1;
      return;
    }
    for (let offset = 0; offset < word.length; offset += 1) data.units[used + offset] = word.charCodeAt(offset);
    used += word.length;
    data.ranks[count] = position + 1;
    count += 1;
    data.starts[count] = used;
    data.slots[slot] = count;
    data.maxLength = Math.max(data.maxLength, word.length);
  });
  // Duplicates leave the tails unused: trim them so a transfer carries no slack.
  return { ...data, units: data.units.slice(0, used), starts: data.starts.slice(0, count + 1), ranks: data.ranks.slice(0, count) };
}

// zxcvbn-ts looks one substring up in every list in turn, so the last key's hash is kept.
let lastKey = '';
let lastHash = hashOf('');

/** The rank of `word` in the list, or undefined when it is not listed. */
export function rankOf(data: CompactDictionaryData, word: string): number | undefined {
  if (word.length > data.maxLength) return undefined;
  if (word !== lastKey) {
    lastKey = word;
    lastHash = hashOf(word);
  }
  const slot = probe(data, word, lastHash);
  const entry = slot === -1 ? 0 : (data.slots[slot] ?? 0);
  return entry === 0 ? undefined : data.ranks[entry - 1];
}

/** Bytes held outside the V8 heap. */
export function compactDictionaryBytes(data: CompactDictionaryData): number {
  return data.units.byteLength + data.starts.byteLength + data.ranks.byteLength + data.slots.byteLength;
}
