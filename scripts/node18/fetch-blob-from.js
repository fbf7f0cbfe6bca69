// Replaces fetch-blob/from.js: native Blob and File, and file-backed blobs through fs.openAsBlob
// (Node 19.8+). node-fetch only re-exports these; the extension never calls them.
import { openAsBlob, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Blob, File } from './fetch-blob.js';

export { Blob, File };
export const blobFrom = (path, type = '') => openAsBlob(path, { type });
export const fileFrom = async (path, type = '') => new File([await openAsBlob(path)], basename(path), { type });
export const blobFromSync = (path, type = '') => new Blob([readFileSync(path)], { type });
export const fileFromSync = (path, type = '') => new File([readFileSync(path)], basename(path), { type });
