import http = require('http');
import { AddressInfo } from 'net';
import { AuthorizationResponse, CallbackParseError, readAuthorizationResponse } from './callback';

/**
 * The loopback redirect (RFC 8252 §7.3): an HTTP listener on 127.0.0.1 that lives for one sign-in
 * and receives `GET /callback?code=…&state=…`. The redirect URI names `localhost` (which Keap has
 * accepted; keap-oauth.md), and is kept byte-for-byte for the code exchange (case K6).
 *
 * `localhost` resolves to `::1` as well as `127.0.0.1`, and a browser may try `::1` first, so the
 * listener holds the port on both loopback addresses (issue 17.10, case K16): a port another
 * program holds on either is found before the browser opens, never after the code went there.
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
  return [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`];
}

/** The loopback port is held by another program on one of the loopback addresses (case K16). */
export class LoopbackPortBusyError extends Error {
  constructor(
    readonly port: number,
    /** `127.0.0.1` or `::1`. */
    readonly address: string,
  ) {
    super(`port ${port} on ${address === '::1' ? '[::1]' : address} is held by another program; a browser opening http://localhost:${port} could reach it instead of VS Code`);
    this.name = 'LoopbackPortBusyError';
  }
}

/** Tries a port with a fresh pick this many times when `::1` holds the port `127.0.0.1` gave (port 0 only). */
const FREE_PORT_ATTEMPTS = 5;

/** Errors that mean "this machine has no IPv6 loopback": nothing can listen there, so nothing can intercept. */
const NO_IPV6 = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT', 'EPROTONOSUPPORT']);

function listenOn(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const fail = (e: Error) => reject(e);
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      resolve();
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise<void>(resolve => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}

/**
 * Listens with `make()`'s servers on `port` of 127.0.0.1 and, where the machine has it, ::1.
 * @returns the servers listening and the port.
 * @throws LoopbackPortBusyError when a fixed `port` is held on either address; the listen error otherwise.
 */
async function listenOnLoopback(port: number, make: () => http.Server): Promise<{ servers: http.Server[]; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const v4 = make();
    try {
      await listenOn(v4, port, '127.0.0.1');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE' && port !== 0) throw new LoopbackPortBusyError(port, '127.0.0.1');
      throw e;
    }
    const actual = (v4.address() as AddressInfo).port;
    const v6 = make();
    try {
      await listenOn(v6, actual, '::1');
      return { servers: [v4, v6], port: actual };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (NO_IPV6.has(code)) return { servers: [v4], port: actual };
      await closeServer(v4);
      if (code === 'EADDRINUSE' && port === 0 && attempt < FREE_PORT_ATTEMPTS) continue;
      if (code === 'EADDRINUSE') throw new LoopbackPortBusyError(actual, '::1');
      throw e;
    }
  }
}

/**
 * Starts listening on 127.0.0.1 and ::1 (where the machine has IPv6), on the same port.
 * `onResponse` handles each authorization response that reached `GET /callback` with an allowed
 * `Host`, and says what to show in the browser.
 * @param port TCP port, 0 for any free one (free on both addresses).
 * @throws LoopbackPortBusyError when a fixed `port` is held on 127.0.0.1 or ::1; any other listen error as it is.
 */
export async function startLoopbackListener(port: number, onResponse: (r: AuthorizationResponse) => Promise<LoopbackReply>): Promise<LoopbackListener> {
  let settled = false;
  let hosts: readonly string[] = [];
  let closing: Promise<void> | undefined;
  let markClosed!: () => void;
  const closed = new Promise<void>(resolve => (markClosed = resolve));
  const handler: http.RequestListener = (req, res) => {
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
  };
  const { servers, port: actual } = await listenOnLoopback(port, () => http.createServer(handler));
  const close = () => (closing ??= Promise.all(servers.map(closeServer)).then(markClosed));
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
