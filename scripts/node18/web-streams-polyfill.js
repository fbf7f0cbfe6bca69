// Replaces web-streams-polyfill (about 60 KB): Node 18+ has WHATWG streams built in.
// fetch-blob only reaches for the polyfill when globalThis.ReadableStream is missing.
module.exports = require('node:stream/web');
