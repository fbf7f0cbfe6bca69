/**
 * The callback target carried inside OAuth `state`, and the relay page's allow-list.
 *
 * Keap only accepts HTTPS redirect URIs (and http://localhost), never `vscode://…`. So the
 * extension can use a static HTTPS "relay page" as its redirect URI. The relay cannot know which
 * VS Code window (desktop, Insiders, Cursor, code-server at some host…) started the sign-in, so the
 * extension puts that window's callback address inside `state`:
 *
 *     state  = <nonce> "." <base64url(UTF-8 target)>
 *     nonce  = base64url of ≥ 16 random bytes (no dots; checked by the extension, not here)
 *     target = vscode.env.asExternalUri(`<uriScheme>://keap-community.infusionsoft-oauth/callback`)
 *
 * Keap returns `state` untouched, the relay page decodes the target and forwards Keap's answer to
 * it — but only when the target passes {@link isAllowedRelayTarget}. Anyone can craft a link to the
 * relay page with any `state`, so the allow-list is what keeps the page from being an open
 * redirector that ships authorization codes to an attacker.
 *
 * This module is PURE: no `vscode`, no DOM, no Node built-ins. It runs in the extension host and,
 * bundled by esbuild, in the browser (it needs only `URL`, `URLSearchParams`, `TextEncoder` and
 * `TextDecoder`, all present in Node ≥ 11 and every current browser).
 */

/** `<publisher>.<name>` of this extension: the authority of its `vscode://` callback URIs. */
export const EXTENSION_AUTHORITY = 'keap-community.infusionsoft-oauth';

/**
 * URI schemes of desktop editors built on VS Code, whose `<scheme>://<authority>/…` links the
 * operating system hands to the editor, which hands them to the extension's UriHandler. These are
 * the values `vscode.env.uriScheme` takes in:
 *
 * - `vscode`          — Visual Studio Code
 * - `vscode-insiders` — Visual Studio Code Insiders
 * - `vscodium`        — VSCodium
 * - `code-oss`        — builds from source (Code - OSS), also what code-server reports internally
 * - `cursor`          — Cursor
 * - `windsurf`        — Windsurf
 * - `positron`        — Positron
 * - `trae`            — Trae
 * - `kiro`            — Kiro
 *
 * Any other custom scheme is refused: the relay page must not launch arbitrary local applications.
 * Extend this list (and its tests) when another fork needs it; until then, its users paste the URL.
 */
export const EDITOR_SCHEMES: readonly string[] = Object.freeze([
  'vscode',
  'vscode-insiders',
  'vscodium',
  'code-oss',
  'cursor',
  'windsurf',
  'positron',
  'trae',
  'kiro',
]);

/** Longest target the relay follows. Real targets are < 300 characters. */
export const MAX_TARGET_LENGTH = 2048;

/** Longest `state` that {@link decodeStateTarget} looks at (a 2048-character target fits easily). */
export const MAX_STATE_LENGTH = 16_384;

/**
 * The parameters of Keap's answer that the relay page forwards (RFC 6749 §4.1.2 and §4.1.2.1, plus
 * Keap's `scope`, which names the Keap app the user granted access to). Nothing else is copied:
 * in particular never a `vscode-*` parameter, which would re-route code-server's callback.
 */
export const FORWARDED_PARAMS: readonly string[] = Object.freeze(['code', 'state', 'error', 'error_description', 'scope']);

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64URL_RE = /^[A-Za-z0-9_-]+$/;

/** Whether `text` is well-formed UTF-16 (no lone surrogate), so UTF-8 encoding is lossless. */
function isWellFormed(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

function bytesToBase64Url(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64URL[n >> 18] + B64URL[(n >> 12) & 63] + B64URL[(n >> 6) & 63] + B64URL[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += B64URL[n >> 18] + B64URL[(n >> 12) & 63];
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += B64URL[n >> 18] + B64URL[(n >> 12) & 63] + B64URL[(n >> 6) & 63];
  }
  return out;
}

/**
 * Strict base64url (RFC 4648 §5) without padding. Refuses other characters, impossible lengths
 * and non-zero trailing bits, so every byte string has exactly one accepted encoding.
 */
function base64UrlToBytes(text: string): Uint8Array | undefined {
  if (!B64URL_RE.test(text) || text.length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    acc = (acc << 6) | B64URL.indexOf(text[i]);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
      acc &= (1 << bits) - 1;
    }
  }
  if (acc !== 0) return undefined; // leftover bits must be zero (canonical form)
  return out;
}

/**
 * Builds the OAuth `state` that carries `target`: `<nonce>.<base64url(UTF-8 target)>`.
 *
 * - `nonce`: the random, unguessable part the extension checks on return — base64url characters
 *   only (`A–Z a–z 0–9 - _`), so the first dot always separates it from the target. Use ≥ 16 random
 *   bytes (e.g. `randomBytes(32).toString('base64url')`).
 * - `target`: where the relay page should forward Keap's answer, normally
 *   `(await vscode.env.asExternalUri(…)).toString(true)`; non-empty, well-formed UTF-16.
 *
 * @throws RangeError for an empty or non-base64url nonce, or an empty or ill-formed target — both
 *   are programming errors, and a state that {@link decodeStateTarget} cannot read back would
 *   strand the sign-in.
 */
export function encodeState(nonce: string, target: string): string {
  if (typeof nonce !== 'string' || !B64URL_RE.test(nonce)) {
    throw new RangeError('encodeState: the nonce must be non-empty base64url (A-Z a-z 0-9 - _), without dots.');
  }
  if (typeof target !== 'string' || target.length === 0 || !isWellFormed(target)) {
    throw new RangeError('encodeState: the target must be a non-empty, well-formed string.');
  }
  return `${nonce}.${bytesToBase64Url(new TextEncoder().encode(target))}`;
}

/**
 * The target inside a `state` made by {@link encodeState}, or `undefined` for anything else:
 * not a string, empty, longer than {@link MAX_STATE_LENGTH}, no dot or more than one dot, an empty
 * or non-base64url nonce, a target part that is not strict base64url, bytes that are not valid
 * UTF-8, or an empty target. Never throws — it reads a query parameter anyone can forge.
 *
 * Decoding says nothing about whether the target is safe to follow; that is
 * {@link isAllowedRelayTarget}'s job.
 */
export function decodeStateTarget(state: string): string | undefined {
  try {
    if (typeof state !== 'string' || state.length === 0 || state.length > MAX_STATE_LENGTH) return undefined;
    const parts = state.split('.');
    if (parts.length !== 2) return undefined;
    const [nonce, encoded] = parts;
    if (!B64URL_RE.test(nonce)) return undefined;
    const bytes = base64UrlToBytes(encoded);
    if (!bytes || bytes.length === 0) return undefined;
    // fatal: refuse invalid UTF-8 instead of inventing U+FFFD; ignoreBOM: keep a leading U+FEFF.
    const target = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    return target.length > 0 ? target : undefined;
  } catch {
    return undefined;
  }
}

/** `localhost`, `[::1]`, or a canonical dotted-decimal address in 127.0.0.0/8. */
function isLoopbackHostname(hostname: string): boolean {
  if (hostname === 'localhost' || hostname === '[::1]') return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(hostname);
  return m !== null && m.slice(1).every(o => Number(o) <= 255 && String(Number(o)) === o);
}

/** The name of the host list the relay page reads from its own folder (beside index.html). */
export const RELAY_HOSTS_FILE = 'relay-hosts.json';

/**
 * One entry of the relay page's host list, as {@link parseRelayHosts} reads it: `hostname` in the
 * WHATWG URL parser's canonical form (lower case, punycode), `port` ('' for 443), and whether the
 * entry was `*.hostname` (any subdomain of it, not the name itself).
 */
export interface RelayHost {
  readonly hostname: string;
  readonly port: string;
  readonly subdomains: boolean;
}

/**
 * Reads one entry of the host list: `host`, `host:port`, or `*.host[:port]` (e.g. `vscode.dev`,
 * `code.example.com:8443`, `*.app.github.dev`). Anything with a scheme, path, userinfo, query,
 * fragment or white space is refused (undefined), as is a wildcard over a bare top-level name.
 */
export function parseRelayHost(entry: unknown): RelayHost | undefined {
  if (typeof entry !== 'string') return undefined;
  const text = entry.trim();
  const wildcard = text.startsWith('*.');
  const rest = wildcard ? text.slice(2) : text;
  if (!rest || /[^A-Za-z0-9.:[\]_-]/.test(rest)) return undefined;
  let url: URL;
  try {
    url = new URL(`https://${rest}/`);
  } catch {
    return undefined;
  }
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password || !url.hostname) return undefined;
  if (wildcard && !url.hostname.includes('.')) return undefined;
  return { hostname: url.hostname, port: url.port, subdomains: wildcard };
}

/**
 * The host list from the contents of {@link RELAY_HOSTS_FILE}: `{"hosts": ["vscode.dev", …]}`
 * (other keys, such as `$comment`, are ignored). Entries {@link parseRelayHost} refuses are dropped;
 * anything that is not such an object gives an empty list. Never throws.
 */
export function parseRelayHosts(json: unknown): RelayHost[] {
  if (!json || typeof json !== 'object' || !Array.isArray((json as { hosts?: unknown }).hosts)) return [];
  return ((json as { hosts: unknown[] }).hosts.map(parseRelayHost).filter(Boolean) as RelayHost[]).slice(0, 100);
}

function isListedHost(url: URL, hosts: readonly RelayHost[]): boolean {
  return hosts.some(h => h.port === url.port && (h.subdomains ? url.hostname.endsWith(`.${h.hostname}`) : url.hostname === h.hostname));
}

/**
 * Whether the relay page may forward Keap's answer (which holds the authorization code) to
 * `target`. `authority` is the extension's `<publisher>.<name>`, compared case-insensitively;
 * `hosts` is the list the person hosting the relay page wrote beside it ({@link parseRelayHosts}).
 *
 * Allowed — exactly these shapes:
 *
 * (a) Desktop editors: `<scheme>://<authority>[/path][?query]` where `<scheme>` is one of
 *     {@link EDITOR_SCHEMES} and the authority is exactly this extension's: no userinfo, no port.
 *     e.g. `vscode://keap-community.infusionsoft-oauth/callback`.
 *
 * (b) Browser-hosted VS Code (code-server, vscode.dev, Codespaces…), whose `asExternalUri` answer is
 *     an http(s) URL that routes back to the window:
 *     `https://<host>[:port]/…/callback?…&vscode-authority=<authority>&…` where the host is
 *     loopback (`localhost`, `[::1]`, 127.0.0.0/8) or listed in `hosts`; or `http://` on a
 *     loopback host only (plain http elsewhere would send the code in clear text). No userinfo;
 *     the path ends in `/callback`; exactly one `vscode-authority` query parameter, equal to the
 *     extension's authority. Any other https host is refused (case S6): a page anyone can link to
 *     must not hand codes to a server the person hosting it never named.
 *
 * Refused — everything else, including: other schemes (`javascript:`, `data:`, `file:`, `blob:`,
 * unknown custom schemes), other authorities (`vscode://evil`), http on non-loopback hosts and
 * look-alikes (`http://127.0.0.1.evil.com`), userinfo tricks (`https://<authority>@evil.com/…`),
 * fragments (appended parameters would land in the fragment), backslashes, whitespace, control or
 * non-ASCII characters, targets longer than {@link MAX_TARGET_LENGTH}, and any target that the
 * WHATWG URL parser would rewrite (`https:evil.com`, `https:///evil.com`, `http://127.1`,
 * `HTTPS://…`, explicit default ports…). Requiring the canonical serialization means the string
 * checked here is byte for byte the string the browser follows: no parser differential.
 *
 * Never throws.
 */
export function isAllowedRelayTarget(target: string, authority: string = EXTENSION_AUTHORITY, hosts: readonly RelayHost[] = []): boolean {
  try {
    if (typeof target !== 'string' || typeof authority !== 'string' || authority.length === 0) return false;
    if (target.length === 0 || target.length > MAX_TARGET_LENGTH) return false;
    // Printable ASCII only: no whitespace, controls, non-ASCII look-alikes; no backslash, no fragment.
    if (!/^[\x21-\x7e]+$/.test(target) || target.includes('\\') || target.includes('#')) return false;
    // Hierarchical form `scheme://authority…` with no '@' anywhere in the authority.
    const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)/.exec(target);
    if (!m || m[2].length === 0 || m[2].includes('@')) return false;

    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return false;
    }
    if (url.href !== target) return false; // canonical form only (see above)
    if (url.username !== '' || url.password !== '') return false;

    const scheme = m[1];
    const wanted = authority.toLowerCase();
    if (EDITOR_SCHEMES.includes(scheme)) {
      return url.port === '' && m[2].toLowerCase() === wanted && url.host.toLowerCase() === wanted;
    }
    if (scheme === 'https') {
      if (url.hostname === '' || !(isLoopbackHostname(url.hostname) || isListedHost(url, hosts))) return false;
    } else if (scheme === 'http') {
      if (!isLoopbackHostname(url.hostname)) return false;
    } else {
      return false;
    }
    if (!url.pathname.endsWith('/callback')) return false;
    const authorities = url.searchParams.getAll('vscode-authority');
    return authorities.length === 1 && authorities[0].toLowerCase() === wanted;
  } catch {
    return false;
  }
}

/**
 * The URL the relay page sends the browser to: `target` with `params` appended as a query —
 * after `&` when the target already has a query (nothing when it already ends in `?` or `&`),
 * otherwise after `?` — in `URLSearchParams` encoding, in the order given. The target's own text
 * is kept verbatim, so its scheme, authority, path and query are unchanged.
 *
 * Returns `undefined` when the target is not allowed ({@link isAllowedRelayTarget}, with the
 * default authority and `hosts`) or when a parameter name starts with `vscode-` (case-insensitive),
 * which could re-route code-server's callback. Pass only {@link FORWARDED_PARAMS} (see
 * {@link pickForwardedParams}). Never throws.
 */
export function buildForwardUrl(target: string, params: URLSearchParams, hosts: readonly RelayHost[] = []): string | undefined {
  try {
    if (!isAllowedRelayTarget(target, EXTENSION_AUTHORITY, hosts)) return undefined;
    for (const name of params.keys()) {
      if (name.toLowerCase().startsWith('vscode-')) return undefined;
    }
    const extra = params.toString();
    if (extra === '') return target;
    const sep = target.endsWith('?') || target.endsWith('&') ? '' : target.includes('?') ? '&' : '?';
    return target + sep + extra;
  } catch {
    return undefined;
  }
}

/**
 * The parameters of Keap's answer worth forwarding: those named in {@link FORWARDED_PARAMS}, each
 * kept once (its first value) in that order; absent ones are left out. `state` is kept even when
 * empty so the extension sees exactly what Keap sent.
 */
export function pickForwardedParams(query: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const name of FORWARDED_PARAMS) {
    const value = query.get(name);
    if (value !== null) out.append(name, value);
  }
  return out;
}
