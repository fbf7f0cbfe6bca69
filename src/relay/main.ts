/**
 * The relay page's script (bundled by esbuild as an IIFE to dist/relay/relay.js, next to
 * media/relay/index.html). Keap sends the browser here with `?code=…&state=…` (or `?error=…`);
 * the VS Code window to return to is inside `state` (see src/signin/relayState.ts).
 *
 * - Allowed target → `location.replace(target + Keap's parameters)`, and, for custom schemes the
 *   browser may not open by itself, an "Open VS Code" link and the address to paste. Browser-hosted
 *   VS Code on a host other than loopback is allowed only when the person hosting this page listed
 *   it in `relay-hosts.json` beside index.html (case S6).
 * - Anything else → no navigation at all; the page shows why, the code, and the full address the
 *   user landed on with a Copy button, for "Infusionsoft: Paste Callback URL".
 *
 * Everything is written with textContent (never HTML); Keap's words are shown as one bounded line.
 * The only request the page makes is for its own relay-hosts.json (same origin, no credentials).
 */
import { keapSays, oneLine } from '../signin/keapText';
import { buildForwardUrl, decodeStateTarget, parseRelayHosts, pickForwardedParams, RELAY_HOSTS_FILE, RelayHost } from '../signin/relayState';

const PASTE_COMMAND = 'Infusionsoft: Paste Callback URL';

function el(id: string): HTMLElement | null {
  return document.getElementById(id);
}

function setText(id: string, text: string): void {
  const node = el(id);
  if (node) node.textContent = text;
}

function reveal(id: string, shown = true): void {
  const node = el(id);
  if (node) node.hidden = !shown;
}

/** Fills the paste-this-address section: the full URL, the code (if any), and the Copy button. */
function showFallback(intro: string, address: string, code: string): void {
  const introNode = el('fallback-intro');
  if (introNode) {
    // "… run <strong>command</strong> and paste …", built without innerHTML.
    const [before, after] = intro.split('{command}');
    const strong = document.createElement('strong');
    strong.textContent = PASTE_COMMAND;
    introNode.replaceChildren(document.createTextNode(before ?? ''), strong, document.createTextNode(after ?? ''));
  }
  setText('url', address);
  if (code) {
    setText('code', code);
    reveal('code-line');
  }
  const button = el('copy');
  if (button) button.addEventListener('click', () => void copyAddress(address));
  reveal('fallback');
}

/** Selects the address on the page, so that Ctrl+C / ⌘C copies it. */
function selectAddress(): void {
  const node = el('url');
  const selection = window.getSelection();
  if (!node || !selection) return;
  const range = document.createRange();
  range.selectNodeContents(node);
  selection.removeAllRanges();
  selection.addRange(range);
}

/** navigator.clipboard when the browser allows it; otherwise selects the text (and tries execCommand). */
async function copyAddress(address: string): Promise<void> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(address);
      setText('copy-status', 'Copied. Now paste it into VS Code.');
      return;
    }
  } catch {
    // Permission refused or unsupported: fall through to selecting the text.
  }
  selectAddress();
  let copied = false;
  try {
    copied = document.execCommand('copy');
  } catch {
    copied = false;
  }
  setText('copy-status', copied ? 'Copied. Now paste it into VS Code.' : 'Selected: press Ctrl+C (⌘C on a Mac) to copy it.');
}

/** The host list beside this page; empty when it is missing or unreadable (only loopback and desktop editors then). */
async function loadHosts(): Promise<RelayHost[]> {
  try {
    const res = await fetch(RELAY_HOSTS_FILE, { cache: 'no-store', credentials: 'omit', redirect: 'error' });
    return res.ok ? parseRelayHosts(await res.json()) : [];
  } catch {
    return [];
  }
}

async function run(): Promise<void> {
  const address = location.href;
  const query = new URLSearchParams(location.search);
  const code = query.get('code') ?? '';
  const error = query.get('error') ?? '';
  const errorDescription = query.get('error_description') ?? '';
  const state = query.get('state') ?? '';

  if (!code && !error) {
    setText('title', 'Nothing to return to VS Code');
    setText(
      'message',
      'This page is the sign-in relay of the Infusionsoft (Keap) extension for VS Code. Keap opens it after you sign in; ' +
        'this address carries no sign-in answer (no code and no error). To sign in, run "Infusionsoft: Sign In" in VS Code.',
    );
    return;
  }

  const target = state ? decodeStateTarget(state) : undefined;
  const hosts = target !== undefined && /^https:/.test(target) ? await loadHosts() : [];
  const forward = target !== undefined ? buildForwardUrl(target, pickForwardedParams(query), hosts) : undefined;

  if (forward !== undefined) {
    setText('title', 'Returning to VS Code…');
    setText(
      'message',
      error
        ? "Passing Keap's answer back to VS Code."
        : 'Handing the sign-in back to VS Code. If your browser asks whether to open your editor, allow it; you can then close this tab.',
    );
    const open = el('open');
    if (open) open.setAttribute('href', forward);
    reveal('open-line');
    showFallback('If VS Code does not open, run {command} in VS Code and paste this address:', address, code);
    location.replace(forward);
    return;
  }

  if (error) {
    setText('title', 'Keap did not grant access');
    setText('error', keapSays(errorDescription && errorDescription !== error ? `${errorDescription} (${error})` : errorDescription || error));
    reveal('error');
    reveal('hint', error === 'access_denied');
    setText(
      'message',
      state
        ? 'This page cannot send this answer back to VS Code by itself.'
        : 'Keap sent no return address with this answer, so this page cannot send it back to VS Code by itself.',
    );
    showFallback('To end the waiting sign-in, run {command} in VS Code and paste this address:', address, code);
    return;
  }

  setText('title', 'Finish signing in in VS Code');
  if (!state) {
    setText('message', 'Keap sent no return address with this answer, so this page cannot send it back to VS Code by itself.');
  } else if (target === undefined) {
    setText('message', 'The return address in this answer cannot be read, so this page cannot send it back to VS Code by itself.');
  } else {
    setText(
      'message',
      'This page only returns to VS Code addresses it trusts, and the return address in this answer is not one of them, so it was not followed.',
    );
    // The target came from a link anyone can write: one bounded line, no bidi tricks.
    setText('refused', oneLine(target, 300));
    reveal('refused-line');
  }
  showFallback('In VS Code, run {command} and paste this address (or just the code below):', address, code);
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', () => void run());
} else {
  void run();
}
