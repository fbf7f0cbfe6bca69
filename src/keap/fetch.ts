import type { FetchLike } from './tokenClient';

let loaded: FetchLike | undefined;

/**
 * node-fetch, loaded at the first request instead of at activation: a window that starts with a
 * fresh token sends nothing, so it never loads it. The bundle keeps node-fetch in a file of its
 * own, dist/fetch.js, next to dist/extension.js (scripts/bundle.js); plain Node (unit tests)
 * loads the package itself.
 */
export const lazyFetch: FetchLike = (url, init) => {
  loaded ??= (require('node-fetch') as { default: unknown }).default as FetchLike;
  return loaded(url, init);
};
