import * as http from 'http';
import { AddressInfo } from 'net';
import { AuthorizationResponse, CallbackParseError, readAuthorizationResponse } from './callback';

/**
 * The loopback redirect (RFC 8252 §7.3): a one-shot HTTP listener on 127.0.0.1 that receives
 * `GET /callback?code=…&state=…`. The redirect URI names `localhost` (which Keap has accepted;
 * keap-oauth.md), and is kept byte-for-byte for the code exchange (case K6).
 */
export interface LoopbackListener {
  /** `http://localhost:<port>/callback`. */
  readonly redirectUri: string;
  readonly port: number;
  close(): Promise<void>;
}

/** What the browser tab is told after the callback was handled. */
export interface LoopbackReply {
  readonly ok: boolean;
  /** One sentence for the page, plain text. */
  readonly message: string;
}

/**
 * Starts listening. `onResponse` handles each authorization response and says what to show in the
 * browser. Throws when the port is taken.
 */
export async function startLoopbackListener(port: number, onResponse: (r: AuthorizationResponse) => Promise<LoopbackReply>): Promise<LoopbackListener> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' || url.pathname !== '/callback') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found');
      return;
    }
    let parsed: AuthorizationResponse;
    try {
      parsed = readAuthorizationResponse(url.searchParams);
    } catch (e) {
      const msg = e instanceof CallbackParseError ? e.message : 'Unreadable callback.';
      res.writeHead(400, pageHeaders()).end(page(false, msg));
      return;
    }
    onResponse(parsed).then(
      reply => res.writeHead(reply.ok ? 200 : 400, pageHeaders()).end(page(reply.ok, reply.message)),
      () => res.writeHead(500, pageHeaders()).end(page(false, 'The sign-in failed; see the Infusionsoft log in VS Code.')),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    redirectUri: `http://localhost:${actual}/callback`,
    port: actual,
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

function pageHeaders(): http.OutgoingHttpHeaders {
  return { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer', 'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'" };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function page(ok: boolean, message: string): string {
  const title = ok ? 'Signed in to Keap' : 'Keap sign-in did not complete';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font:16px system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}@media(prefers-color-scheme:dark){body{background:#1e1e1e;color:#ddd}}</style>
</head><body><h1>${title}</h1><p>${escapeHtml(message)}</p><p>You can close this tab and return to VS Code.</p></body></html>`;
}
