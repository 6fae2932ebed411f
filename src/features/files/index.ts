// What other features use of files: the data export lists an account's files and reads
// each one when the archive reaches it.
export { databaseStore, directoryStore, type ContentStore } from './content-store.ts';
export { defaultExtension } from './detect-type.ts';
export { listOwnFiles, readOwnFile, type FileContent, type FileInfo } from './service.ts';
export { orphanFilesJob } from './sweep.ts';
