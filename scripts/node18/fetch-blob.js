// Replaces fetch-blob's Blob and File: Node 18+ has both (buffer.Blob, buffer.File since 20).
import { Blob as NodeBlob, File as NodeFile } from 'node:buffer';

export const Blob = globalThis.Blob ?? NodeBlob;
export const File = globalThis.File ?? NodeFile;
export default Blob;
