/**
 * Text that came from outside the user's own hands (a server's answer, a header, a file, another
 * extension) made fit for the one place it is shown. The single helper every such place uses
 * (issue 17.2, case S8); pure, no `vscode`.
 *
 * Three places render text, and each gets its own form:
 * - `markdown` ({@link OutsideTextTarget}): a `MarkdownString` (status-bar tooltip). Every character
 *   markdown or its HTML pass gives a meaning to is backslash-escaped, and a URL scheme loses its
 *   colon's meaning (`command\:`), so no link, autolink, image, HTML tag, heading, emphasis or
 *   code span can form. Such a MarkdownString is never trusted and never `supportHtml`.
 * - `message`: a notification (`showErrorMessage` & co.). VS Code parses only one construct there,
 *   `[label](https://…|command:…|file:…)` (src/vs/base/common/linkedText.ts), and shows every other
 *   character as it is, backslashes included. Every `](` becomes `]\(`: no link can form, and the
 *   rest reads as written (`invalid_grant`, "(429)"), so a whole notification, the extension's own
 *   words included, can pass through it.
 * - `plain`: a string tooltip, a log line, the ledger file. Nothing is interpreted there; the
 *   text is only made one bounded line.
 * - `label`: a QuickPick item's label or description, a progress title, a tree item's label or
 *   description, a status-bar text. VS Code renders `$(name)` there as a theme icon
 *   (src/vs/base/common/iconLabels.ts), so every `$(` becomes `\\$(`, the escape VS Code's own
 *   `escapeIcons` writes: an app name `$(pass-filled) production` cannot draw the extension's marks.
 *
 * In every form the text is first one line of at most `max` characters with control, bidi-override
 * and invisible characters replaced ({@link oneLine}), so it cannot fake a second line or reorder
 * the extension's own words; and every registered secret and every credential echo
 * (`refresh_token=…`) is masked (src/secretMask, case S12), so an error page that repeats the
 * request shows no token in any of these places.
 */
import { PROCESS_SECRETS, SecretMask } from './secretMask';
import { KEAP_TEXT_MAX_CHARS, oneLine } from './textLine';

export type OutsideTextTarget = 'markdown' | 'message' | 'plain' | 'label';

/** Characters CommonMark lets a backslash escape, and which markdown or its HTML pass interpret. */
const MARKDOWN_SPECIAL = /[\\`*_{}[\]()<>#+\-.!|~&"':=$]/g;
/** The one adjacency VS Code's notification link parser needs (`[label](target)`). */
const MESSAGE_LINK = /\]\(/g;
/** Where a theme icon (`$(name)`) could start in a label VS Code renders icons in; an escaped one (`\\$(`) is left as it is. */
const ICON_SYNTAX = /(?<!\\)\$\(/g;

/**
 * `text` (untrusted) as it may be shown in `target`; '' for undefined or blank text.
 * @param max longest kept part in characters (UTF-16 code units) before "…"; default 200. A whole
 *   notification that embeds outside words passes 1000 (VS Code's own notification limit).
 * @param secrets the secrets to mask; default this process's ({@link PROCESS_SECRETS}).
 */
export function outsideText(text: string | undefined, target: OutsideTextTarget, max = KEAP_TEXT_MAX_CHARS, secrets: SecretMask = PROCESS_SECRETS): string {
  const line = oneLine(text === undefined ? undefined : secrets.mask(text), max);
  switch (target) {
    case 'plain':
      return line;
    case 'label':
      return line.replace(ICON_SYNTAX, '\\$(');
    case 'message':
      return line.replace(MESSAGE_LINK, ']\\(');
    case 'markdown':
      // The colon is escaped too (it is in MARKDOWN_SPECIAL), so `https://…`, `command:…` and
      // `www.` autolinks cannot form; `&` so no HTML entity can spell a character back.
      return line.replace(MARKDOWN_SPECIAL, c => `\\${c}`);
  }
}
