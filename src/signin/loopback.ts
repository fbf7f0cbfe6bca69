import * as http from 'http';
import { AddressInfo } from 'net';
import { AuthorizationResponse, CallbackParseError, readAuthorizationResponse } from './callback';

/**
 * The loopback redirect (RFC 8252 §7.3): an HTTP listener on 127.0.0.1 that lives for one sign-in
 * and receives `GET /callback?code=…&state=…`. The redirect URI names `localhost` (which Keap has
 * accepted; keap-oauth.md), and is kept byte-for-byte for the code exchange (case K6).
 *
 * It answers only requests whose `Host` header is its own address and port, so a web page that
 * rebinds its own name to 127.0.0.1 (DNS rebinding) cannot drive it (case S4), and it settles at
 * most once: after the first answer that belonged to the sign-in it refuses everything and closes.
 */
export interface LoopbackListener {
  /** `http://localhost:<port>/callback`. */
  readonly redirectUri: string;
  readonly port: number;
  /** Stops listening and drops open connections; safe to call more than once. */
  close(): Promise<void>;
  /** Resolves once the listener has closed (settled, or {@link close} called). */
  readonly closed: Promise<void>;
}

/** What the browser tab is told after the callback was handled. */
export interface LoopbackReply {
  readonly ok: boolean;
  /** The page's heading; a default one follows `ok` when absent. */
  readonly title?: string;
  /** One or more sentences for the page, plain text (escaped here). */
  readonly message: string;
  /**
   * True when the answer belonged to the waiting sign-in (its `state` matched, whatever the
   * outcome): the listener then refuses every later request and closes.
   */
  readonly settled: boolean;
}

/** The `Host` header values this listener answers: the redirect URI's own host, and its address. */
export function loopbackHosts(port: number): readonly string[] {
  return [`localhost:${port}`, `127.0.0.1:${port}`];
}

/**
 * Starts listening on 127.0.0.1. `onResponse` handles each authorization response that reached
 * `GET /callback` with an allowed `Host`, and says what to show in the browser.
 * @param port TCP port, 0 for any free one.
 * @throws the listen error (e.g. EADDRINUSE) when the port is taken.
 */
export async function startLoopbackListener(port: number, onResponse: (r: AuthorizationResponse) => Promise<LoopbackReply>): Promise<LoopbackListener> {
  let settled = false;
  let hosts: readonly string[] = [];
  let closing: Promise<void> | undefined;
  let markClosed!: () => void;
  const closed = new Promise<void>(resolve => (markClosed = resolve));
  const server = http.createServer((req, res) => {
    const host = (req.headers.host ?? '').toLowerCase();
    if (!hosts.includes(host)) {
      // DNS rebinding: the browser thinks it talks to another site (case S4).
      res.writeHead(421, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' }).end('Misdirected request');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/callback') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found');
      return;
    }
    if (req.method !== 'GET') {
      res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8', Allow: 'GET' }).end('Method not allowed');
      return;
    }
    if (settled) {
      res.writeHead(410, pageHeaders()).end(page(false, 'Keap sign-in already answered', 'This sign-in already received its answer. Return to VS Code.'));
      return;
    }
    let parsed: AuthorizationResponse;
    try {
      parsed = readAuthorizationResponse(url.searchParams);
    } catch (e) {
      const msg = e instanceof CallbackParseError ? e.message : 'Unreadable callback.';
      res.writeHead(400, pageHeaders()).end(page(false, undefined, msg));
      return;
    }
    onResponse(parsed).then(
      reply => {
        if (reply.settled) {
          settled = true;
          res.once('finish', () => void close());
        }
        res.writeHead(reply.ok ? 200 : 400, pageHeaders()).end(page(reply.ok, reply.title, reply.message));
      },
      () => res.writeHead(500, pageHeaders()).end(page(false, undefined, 'The sign-in failed; see the Infusionsoft log in VS Code.')),
    );
  });
  const close = () =>
    (closing ??= new Promise<void>(resolve => {
      server.close(() => resolve());
      server.closeAllConnections?.();
    }).then(markClosed));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  hosts = loopbackHosts(actual);
  return { redirectUri: `http://localhost:${actual}/callback`, port: actual, close, closed };
}

function pageHeaders(): http.OutgoingHttpHeaders {
  return { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer', 'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'" };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function page(ok: boolean, title: string | undefined, message: string): string {
  const heading = escapeHtml(title ?? (ok ? 'Signed in to Keap' : 'Keap sign-in did not complete'));
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${heading}</title>
<style>body{font:16px system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}@media(prefers-color-scheme:dark){body{background:#1e1e1e;color:#ddd}}</style>
</head><body><h1>${heading}</h1><p>${escapeHtml(message)}</p><p>You can close this tab and return to VS Code.</p></body></html>`;
}
