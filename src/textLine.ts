/**
 * Outside text as one bounded line (src/outsideText builds on it; src/signin/keapText labels it as
 * Keap's). Its own file so activation can load it without the sign-in's files. Pure; runs in the
 * extension host and in the relay page.
 */

/** Longest piece of Keap's text shown, in characters (UTF-16 code units), before the ellipsis. */
export const KEAP_TEXT_MAX_CHARS = 200;

/**
 * C0 and C1 controls, and characters that reorder or hide text: the bidi embeddings, overrides and
 * isolates (U+202A–U+202E, U+2066–U+2069), the marks U+061C, U+200E, U+200F, zero-width characters
 * (U+200B–U+200D, U+2060, U+FEFF), soft hyphen and the line and paragraph separators.
 */
const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/**
 * `text` as one line of at most `max` characters (plus "…" when cut): hidden and control characters
 * become spaces, runs of white space one space, no lone surrogate is left at the cut.
 * Returns '' for undefined or blank text.
 */
export function oneLine(text: string | undefined, max = KEAP_TEXT_MAX_CHARS): string {
  if (!text) return '';
  const flat = text.replace(HIDDEN, ' ').replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  let cut = flat.slice(0, max);
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut.trimEnd()}…`;
}
