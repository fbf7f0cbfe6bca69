/**
 * Standalone fake Keap server.
 *
 *   node out/test/fake-keap/cli.js [--port N] [--host 127.0.0.1] [--auto-approve]
 *                                  [--static-dir DIR] [--expires-in SECONDS] [--user-apps APP,APP]
 *                                  [--verbose]
 *
 * --user-apps: the signed-in Keap user's other Keap apps (tenants), comma-separated [a-z0-9]+
 * names; the authorize page then lets the user pick which app to authorize.
 *
 * Prints its URLs and the demo client ID/secret, then one line `FAKE_KEAP_READY <baseUrl>`.
 * Without --verbose the access log shows only method, path (no query) and status, never a
 * token, code or secret. Stops cleanly on SIGINT/SIGTERM.
 */
import { DEMO_CLIENT, startFakeKeap, userAppsProblem, type RecordedRequest } from './server';

interface CliArgs {
  port: number;
  host: string;
  autoApprove: boolean;
  verbose: boolean;
  staticDir?: string;
  expiresInSeconds?: number;
  userApps?: string[];
}

function usage(): string {
  return (
    'usage: fake-keap [--port N] [--host 127.0.0.1] [--auto-approve] [--static-dir DIR] ' +
    '[--expires-in SECONDS] [--user-apps APP,APP] [--verbose]'
  );
}

function parseArgs(argv: string[]): CliArgs {
  const out: CliArgs = { port: 0, host: '127.0.0.1', autoApprove: false, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i];
    const eq = raw.indexOf('=');
    const flag = raw.startsWith('--') && eq > 0 ? raw.slice(0, eq) : raw;
    const inline = raw.startsWith('--') && eq > 0 ? raw.slice(eq + 1) : undefined;
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--port': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error('--port must be an integer 0..65535');
        out.port = n;
        break;
      }
      case '--host':
        out.host = value();
        break;
      case '--auto-approve':
        out.autoApprove = true;
        break;
      case '--verbose':
        out.verbose = true;
        break;
      case '--static-dir':
        out.staticDir = value();
        break;
      case '--expires-in': {
        const n = Number(value());
        if (!Number.isFinite(n) || n <= 0) throw new Error('--expires-in must be a positive number of seconds');
        out.expiresInSeconds = n;
        break;
      }
      case '--user-apps': {
        const apps = value()
          .split(',')
          .map((a) => a.trim())
          .filter((a) => a !== '');
        const problem = userAppsProblem(apps);
        if (problem) throw new Error(`--user-apps: ${problem}`);
        out.userApps = apps;
        break;
      }
      case '-h':
      case '--help':
        process.stdout.write(usage() + '\n');
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument: ${raw}`);
    }
  }
  return out;
}

function logLine(r: RecordedRequest, verbose: boolean): string {
  const base = `[fake-keap] #${r.seq} ${r.method} ${r.path} -> ${r.status === 0 ? 'dropped' : r.status}`;
  if (!verbose) return base;
  const q = Object.keys(r.query).length ? ` query=${JSON.stringify(r.query)}` : '';
  const auth = r.headers.authorization !== undefined ? ` authorization=${JSON.stringify(r.headers.authorization)}` : '';
  const body = r.rawBody ? ` body=${JSON.stringify(r.rawBody)}` : '';
  const resp =
    r.responseBody && !r.responseBody.trimStart().startsWith('<') ? ` response=${JSON.stringify(r.responseBody.slice(0, 500))}` : '';
  return base + q + auth + body + resp;
}

async function main(): Promise<void> {
  let args: CliArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${usage()}\n`);
    process.exit(2);
  }
  const fake = await startFakeKeap({
    port: args.port,
    host: args.host,
    autoApprove: args.autoApprove,
    staticDir: args.staticDir,
    expiresInSeconds: args.expiresInSeconds,
    userApps: args.userApps,
    onRequest: (r) => process.stdout.write(logLine(r, args.verbose) + '\n'),
  });
  const lines = [
    'Fake Keap OAuth server',
    `  base:       ${fake.baseUrl}`,
    `  authorize:  ${fake.authorizeUrl}`,
    `  token:      ${fake.tokenUrl}`,
    `  api base:   ${fake.apiBaseUrl}`,
    `  relay:      ${fake.relayUrl}${args.staticDir ? '' : '  (no --static-dir given: 404)'}`,
    `  control:    ${fake.baseUrl}/__fake/`,
    `  client id:     ${DEMO_CLIENT.clientId}`,
    `  client secret: ${DEMO_CLIENT.clientSecret}`,
    `  auto-approve: ${args.autoApprove ? 'on' : 'off'}`,
    `  Keap apps offered: ${[...new Set([DEMO_CLIENT.appName, ...(args.userApps ?? [])])].join(', ')}`,
    `FAKE_KEAP_READY ${fake.baseUrl}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`[fake-keap] ${signal}: stopping\n`);
    const force = setTimeout(() => process.exit(0), 3000);
    force.unref();
    fake.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e: unknown) => {
  process.stderr.write(`fake-keap failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
