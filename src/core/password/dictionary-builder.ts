// The child process that reads zxcvbn-ts's word lists and writes them to its standard
// output in compact form (compact-dictionary.ts, dictionary-message.ts). Loading the
// language packages parses 1.7 million characters of word lists into a quarter of a
// million strings and about 40 MB of parser and heap memory; done here, all of it goes
// with this process, and the server keeps only the compact arrays. A worker thread was
// tried first: the server then kept about 20 MB more resident after the worker had exited
// (its isolate's pages and the parser's malloc memory).
// Run by guessability.ts only; it takes no input.
import { adjacencyGraphs, dictionary as commonDictionary } from '@zxcvbn-ts/language-common';
import { dictionary as englishDictionary, translations } from '@zxcvbn-ts/language-en';
import { buildCompactDictionary, type CompactDictionaryData } from './compact-dictionary.ts';
import { COMMON_LIST, encodeDictionaryMessage } from './dictionary-message.ts';

const lists: Record<string, readonly (string | number)[]> = { ...commonDictionary, ...englishDictionary };
const dictionaries: Record<string, CompactDictionaryData> = {};
for (const [name, list] of Object.entries(lists)) dictionaries[name] = buildCompactDictionary(list);
const common = lists[COMMON_LIST];
if (common === undefined) throw new Error(`zxcvbn-ts no longer has the ${COMMON_LIST} list`);
const commonLowercase = buildCompactDictionary(common.map((entry) => String(entry).toLowerCase()));

for (const chunk of encodeDictionaryMessage({ dictionaries, commonLowercase, graphs: adjacencyGraphs, translations })) process.stdout.write(chunk);
