/**
 * Reads what comes back from Keap's authorize page: a callback URI delivered to the UriHandler or
 * the loopback listener, or whatever the user pasted (the full URL the browser landed on, a bare
 * query string, or a bare code). Pure; never throws anything but {@link CallbackParseError}.
 */

/** The outcome of the authorization step (RFC 6749 §4.1.2 and §4.1.2.1). */
export type AuthorizationResponse =
  | { readonly kind: 'code'; readonly code: string; readonly state: string | undefined }
  | { readonly kind: 'error'; readonly error: string; readonly errorDescription: string | undefined; readonly state: string | undefined };

export class CallbackParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CallbackParseError';
  }
}

const MAX_INPUT = 16_384;

/**
 * Reads the query parameters of a callback. `error` is looked at before `code` (case K7: Keap's
 * denial carries `error=access_denied` and an empty `state`). An empty `state` reads as undefined.
 * code-server's forwarding URL may nest the original query in `vscode-query`; it is read too.
 * @throws CallbackParseError when there is neither a code nor an error.
 */
export function readAuthorizationResponse(params: URLSearchParams): AuthorizationResponse {
  const nested = params.get('vscode-query');
  if (nested && !params.has('code') && !params.has('error')) {
    return readAuthorizationResponse(new URLSearchParams(nested));
  }
  const state = params.get('state') || undefined;
  const error = params.get('error');
  if (error) {
    return { kind: 'error', error, errorDescription: params.get('error_description') || undefined, state };
  }
  const code = params.get('code');
  if (code) return { kind: 'code', code, state };
  throw new CallbackParseError('The callback has neither an authorization code nor an error.');
}

/**
 * Reads a pasted value: a full URL (any scheme), a query string (`?code=…&state=…` or
 * `code=…&state=…`), or a bare authorization code (no whitespace). A bare code carries no state;
 * the caller matches it to the one pending sign-in.
 * @throws CallbackParseError with a message fit for the user.
 */
export function parsePastedCallback(input: string): AuthorizationResponse {
  const text = input.trim();
  if (!text) throw new CallbackParseError('Nothing was pasted.');
  if (text.length > MAX_INPUT) throw new CallbackParseError('The pasted text is too long to be a sign-in URL.');
  const schemeMatch = /^[a-zA-Z][a-zA-Z0-9+.-]*:/.exec(text);
  if (schemeMatch) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new CallbackParseError('The pasted text looks like a URL but cannot be read as one.');
    }
    const params = new URLSearchParams(url.search);
    if (url.hash && !params.has('code') && !params.has('error')) {
      // Some hosts move parameters into the fragment.
      for (const [k, v] of new URLSearchParams(url.hash.slice(1))) params.append(k, v);
    }
    try {
      return readAuthorizationResponse(params);
    } catch {
      throw new CallbackParseError('The pasted URL has no "code" or "error" parameter. Paste the whole address the browser shows after you clicked Allow.');
    }
  }
  if (text.startsWith('?') || /(^|&)(code|error)=/.test(text)) {
    try {
      return readAuthorizationResponse(new URLSearchParams(text.replace(/^\?/, '')));
    } catch {
      throw new CallbackParseError('The pasted text has no "code" or "error" parameter.');
    }
  }
  // A bare code: Keap's codes are opaque, but they travel in URLs, so they are URL-safe characters.
  if (!/^[A-Za-z0-9._~+\/=%-]{4,4096}$/.test(text)) throw new CallbackParseError('The pasted text is neither a URL nor an authorization code.');
  return { kind: 'code', code: text, state: undefined };
}
