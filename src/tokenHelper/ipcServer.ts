import { randomBytes, timingSafeEqual } from 'crypto';
import fs = require('fs');
import net = require('net');
import type { Logger } from '../log';
import { addressOf, ensurePrivateDir, entryFile, HelperEntry, listEntries, processAlive } from './ipcPaths';
import { HelperAnswer, HelperRequest, MAX_REQUEST_BYTES, parseRequest, PROTOCOL_VERSION } from './protocol';

/** How long a connection may take to send its request line (ms): 5 seconds. */
export const REQUEST_READ_MS = 5_000;

export interface HelperServerOptions {
  /** The private folder (src/tokenHelper/ipcPaths `helperDir`). */
  readonly dir: string;
  /** Answers one request whose secret matched. */
  readonly handle: (req: HelperRequest) => Promise<HelperAnswer>;
  readonly log: Logger;
}

export interface HelperServer {
  /** The socket path or pipe name. */
  readonly address: string;
  /** This window's secret (hex), handed to its terminals. */
  readonly secret: string;
  readonly dir: string;
  /** Stops listening and removes the socket and the registry entry. */
  dispose(): Promise<void>;
}

/**
 * The extension's side of `keap-token` (issue 18): a Unix socket in the user's private folder (a
 * named pipe on Windows), never TCP. Each connection sends one request line; one whose secret is
 * not this window's gets `denied`; the answer is one line. Registers itself in the folder (0600)
 * so `keap-token` can find it from a terminal of another window, and removes the entries of
 * windows whose process is gone. Node only, no `vscode`.
 * @throws when the folder is not private, or listening fails.
 */
export async function startHelperServer(opts: HelperServerOptions): Promise<HelperServer> {
  ensurePrivateDir(opts.dir);
  for (const stale of listEntries(opts.dir)) {
    if (stale.pid === process.pid || processAlive(stale.pid)) continue;
    for (const f of [entryFile(opts.dir, stale.id), ...(process.platform === 'win32' ? [] : [stale.address])]) fs.rmSync(f, { force: true });
  }
  const id = `w-${randomBytes(8).toString('hex')}`;
  const secret = randomBytes(24).toString('hex');
  const secretBytes = Buffer.from(secret);
  const address = addressOf(opts.dir, id);
  const sockets = new Set<net.Socket>();

  const server = net.createServer(socket => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setTimeout(REQUEST_READ_MS, () => socket.destroy());
    let buf = '';
    let done = false;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      if (done) return;
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > MAX_REQUEST_BYTES) socket.destroy();
        return;
      }
      done = true;
      // The answer may wait for a refresh (the lock, Keap): no read limit from here on.
      socket.setTimeout(0);
      void answer(buf.slice(0, nl)).then(
        a => socket.end(`${JSON.stringify(a)}\n`),
        () => socket.destroy(),
      );
    });
  });
  const answer = async (line: string): Promise<HelperAnswer> => {
    const req = parseRequest(line);
    if ('ok' in req) return req;
    const given = Buffer.from(req.secret);
    if (given.length !== secretBytes.length || !timingSafeEqual(given, secretBytes)) {
      opts.log.warn('keap-token: a request with a wrong secret was refused');
      return { ok: false, refusal: 'denied', message: 'this VS Code window does not know that secret' };
    }
    try {
      return await opts.handle(req);
    } catch (e) {
      return { ok: false, refusal: 'unavailable', message: String((e as Error)?.message ?? e).slice(0, 500) };
    }
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', e => opts.log.warn(`keap-token server: ${e.message}`));
  if (process.platform !== 'win32') fs.chmodSync(address, 0o600);
  const entry: HelperEntry = { v: PROTOCOL_VERSION, address, secret, pid: process.pid, startedAt: Date.now() };
  fs.writeFileSync(entryFile(opts.dir, id), JSON.stringify(entry), { mode: 0o600, flag: 'wx' });

  let closed: Promise<void> | undefined;
  return {
    address,
    secret,
    dir: opts.dir,
    dispose: () =>
      (closed ??= new Promise<void>(resolve => {
        fs.rmSync(entryFile(opts.dir, id), { force: true });
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
        if (process.platform !== 'win32') fs.rmSync(address, { force: true });
      })),
  };
}
