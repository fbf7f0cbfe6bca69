/**
 * The logging surface the core writes to. The VS Code layer backs it with a LogOutputChannel.
 * Callers pass only what is safe to show: never a token, code, client secret or full callback URL.
 */
export interface Logger {
  trace(message: string): void;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /**
   * Registers a value that must never appear in the log (issue 17.6): every token the moment it
   * arrives (a sign-in, a refresh, a read from storage, a .env rotation), the client secret, a code.
   * Optional: loggers that show nothing need not implement it.
   */
  addSecret?(value: string | undefined): void;
}

export const SILENT_LOGGER: Logger = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/** A URL without its query and fragment, for the log (queries can carry codes and state). */
export function urlForLog(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<unparseable url>';
  }
}
