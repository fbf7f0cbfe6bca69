/**
 * Text that Keap (or anyone who can open a callback URL) wrote, made fit to show the user: one
 * line, bounded, with no control, bidirectional-override or invisible characters, and labelled as
 * Keap's so it never reads as the extension's own advice. Pure; runs in the extension host and in
 * the relay page.
 */

import { KEAP_TEXT_MAX_CHARS, oneLine } from '../textLine';

export { KEAP_TEXT_MAX_CHARS, oneLine };

/** `Keap says: "<text>"`, with `text` made one bounded line ({@link oneLine}); '' when there is nothing to say. */
export function keapSays(text: string | undefined): string {
  const line = oneLine(text);
  return line ? `Keap says: "${line}"` : '';
}
