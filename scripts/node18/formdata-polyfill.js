// Replaces formdata-polyfill: Node 18+ has FormData. formDataToBlob serialises one as
// multipart/form-data (RFC 7578) for a request body, the way the polyfill does.
import { Blob, File } from './fetch-blob.js';

export const FormData = globalThis.FormData;
export { File };

const escapeName = (s, isFilename) =>
  (isFilename ? s : s.replace(/\r?\n|\r/g, '\r\n')).replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22');

export function formDataToBlob(form, B = Blob) {
  const boundary = `formdata-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  const parts = [];
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="`;
  for (const [name, value] of form) {
    if (typeof value === 'string') {
      parts.push(`${head}${escapeName(name)}"\r\n\r\n${value.replace(/\r(?!\n)|(?<!\r)\n/g, '\r\n')}\r\n`);
    } else {
      parts.push(`${head}${escapeName(name)}"; filename="${escapeName(value.name, true)}"\r\nContent-Type: ${value.type || 'application/octet-stream'}\r\n\r\n`, value, '\r\n');
    }
  }
  parts.push(`--${boundary}--`);
  return new B(parts, { type: `multipart/form-data; boundary=${boundary}` });
}
