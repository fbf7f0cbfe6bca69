import vscode = require('vscode');
import { l10n } from 'vscode';
import { RelativeWords, whenText } from '../session/timeWords';

/** The relative words of src/session/timeWords in the user's language. */
function words(): RelativeWords {
  return {
    future: d => l10n.t('in {0}', d),
    past: d => l10n.t('{0} ago', d),
    now: l10n.t('now'),
    hourUnit: l10n.t('h'),
    minuteUnit: l10n.t('min'),
  };
}

/**
 * A time for the tooltip, the tree and notifications, read at `nowMs` in VS Code's display language
 * and the machine's time zone: "in 3 h 10 min, tomorrow 02:55" (src/session/timeWords whenText).
 * @param atMs, nowMs epoch milliseconds.
 */
export function when(atMs: number, nowMs: number = Date.now()): string {
  return whenText(atMs, nowMs, { locale: vscode.env.language }, words());
}
