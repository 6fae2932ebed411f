// What other features use of files: the data export reads each file of an account.
export { listFileIds } from './repo.ts';
export { readOwnFile, type FileContent } from './service.ts';
export { downloadName } from './filename.ts';
