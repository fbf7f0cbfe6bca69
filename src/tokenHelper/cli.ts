/**
 * `keap-token` (issue 18): prints a valid Keap access token by asking the running VS Code window
 * (the Infusionsoft extension) over local IPC. It never refreshes on its own, never reads
 * SecretStorage, never opens a TCP port. Built alone into dist/keap-token.js (scripts/bundle.js);
 * started by bin/keap-token (bin/keap-token.cmd on Windows), which terminals find on their PATH.
 * Exit codes: src/tokenHelper/protocol EXIT. Messages go to stderr; stdout gets only the output.
 */
import net = require('net');
import { ENV, helperDir, listEntries, privateDirProblem } from './ipcPaths';
import { EXIT, ExitCode, exitCodeOf, formatOutput, HelperAnswer, HelperRequest, MAX_ANSWER_BYTES, parseAnswer, parseCliArgs, PROTOCOL_VERSION, USAGE } from './protocol';

/** All connection attempts together give up after this (ms): with VS Code closed the helper fails within 2 seconds. */
export const CONNECT_BUDGET_MS = 1_500;
/**
 * Longest wait for one door to accept (ms). A missing or dead door fails at once (ENOENT or
 * ECONNREFUSED), so VS Code closed still fails within CONNECT_BUDGET_MS; a live door can be slow
 * to accept when many callers arrive together: a Windows named pipe has a few instances and
 * libuv waits for a free one (real Windows is not yet exercised; under Wine a 5th parallel caller is never served at all).
 */
export const CONNECT_WAIT_MS = 10_000;
/** Longest wait for an answer once connected (ms): a refresh may wait for the lock and Keap (3 × the 30 s request timeout + 15 s). */
export const ANSWER_WAIT_MS = 150_000;

interface Door {
  readonly address: string;
  readonly secret: string;
}

/** Sends one request to one door. Rejects when it cannot connect in `connectMs`, or the window went away without answering. */
function ask(door: Door, req: HelperRequest, connectMs: number): Promise<HelperAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(door.address);
    let buf = '';
    const fail = (e: Error) => {
      socket.destroy();
      reject(e);
    };
    const connectTimer = setTimeout(() => fail(new Error('connect timed out')), Math.max(50, connectMs));
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      clearTimeout(connectTimer);
      socket.setTimeout(ANSWER_WAIT_MS, () => fail(new Error('no answer')));
      socket.write(`${JSON.stringify(req)}\n`);
    });
    socket.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_ANSWER_BYTES) return fail(new Error('answer too long'));
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      socket.destroy();
      try {
        resolve(parseAnswer(buf.slice(0, nl)));
      } catch (e) {
        reject(e);
      }
    });
    socket.on('error', e => {
      clearTimeout(connectTimer);
      reject(e);
    });
    socket.on('close', () => {
      clearTimeout(connectTimer);
      reject(new Error('closed without an answer'));
    });
  });
}

/** The doors to try, in order: the window this terminal belongs to, then every registered window (newest first). */
export function doorsFor(env: NodeJS.ProcessEnv): Door[] {
  const doors: Door[] = [];
  const own = env[ENV.address];
  const secret = env[ENV.secret];
  if (own && secret) doors.push({ address: own, secret });
  const dir = env[ENV.dir] || helperDir(env);
  // The registry is trusted only in a folder that is this user's alone.
  if (!privateDirProblem(dir)) for (const e of listEntries(dir)) if (e.address !== own) doors.push(e);
  return doors;
}

export interface CliIo {
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  stdout(text: string): void;
  stderr(text: string): void;
  now(): number;
  /** The working directory (sent so VS Code can tell which folder asks), or undefined when unknown. */
  cwd?(): string | undefined;
}

/** Runs `keap-token` once; resolves to its exit code. */
export async function runCli(io: CliIo): Promise<ExitCode> {
  const opts = parseCliArgs(io.argv);
  if ('usageError' in opts) {
    io.stderr(`keap-token: ${opts.usageError}\n${USAGE}`);
    return EXIT.usage;
  }
  if (opts.help) {
    io.stdout(USAGE);
    return EXIT.ok;
  }
  const deadline = io.now() + CONNECT_BUDGET_MS;
  let lastProblem: string | undefined;
  for (const door of doorsFor(io.env)) {
    const left = deadline - io.now();
    if (left <= 0) break;
    const cwd = io.cwd?.();
    const req: HelperRequest = { v: PROTOCOL_VERSION, secret: door.secret, app: opts.app, minValidSeconds: opts.minValidSeconds, ...(cwd ? { cwd } : {}) };
    let answer: HelperAnswer;
    try {
      answer = await ask(door, req, CONNECT_WAIT_MS);
    } catch (e) {
      lastProblem = (e as Error).message;
      continue;
    }
    // A window that does not know this secret (a stale entry): try the next.
    if (!answer.ok && answer.refusal === 'denied') continue;
    if (!answer.ok) {
      io.stderr(`keap-token: ${answer.message}\n`);
      return exitCodeOf(answer);
    }
    io.stdout(formatOutput(answer, opts.format));
    return EXIT.ok;
  }
  io.stderr(
    `keap-token: no VS Code window with the Keap token helper answered${lastProblem ? ` (${lastProblem})` : ''}. Open VS Code with the Infusionsoft extension, turn on the setting infusionsoft.tokenHelper.enabled (user settings) and trust the workspace.\n`,
  );
  return EXIT.notRunning;
}

if (require.main === module) {
  void runCli({
    argv: process.argv.slice(2),
    env: process.env,
    stdout: t => process.stdout.write(t),
    stderr: t => process.stderr.write(t),
    now: Date.now,
    cwd: () => {
      try {
        return process.cwd();
      } catch {
        return undefined; // the directory was removed
      }
    },
  }).then(
    code => {
      process.exitCode = code;
    },
    e => {
      process.stderr.write(`keap-token: ${(e as Error)?.message ?? e}\n`);
      process.exitCode = EXIT.error;
    },
  );
}
