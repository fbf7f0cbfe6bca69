import * as vscode from 'vscode';
import { Logger } from '../log';

/**
 * The "Infusionsoft" LogOutputChannel as the core's {@link Logger}. As a last line of defence it
 * masks any value registered with {@link RedactingLogger.addSecret} (tokens, codes, the client
 * secret), though callers are written never to pass one.
 */
export class RedactingLogger implements Logger, vscode.Disposable {
  private readonly secrets = new Set<string>();

  constructor(readonly channel: vscode.LogOutputChannel) {}

  /** Registers a value that must never appear in the log. Values under 6 characters are ignored. */
  addSecret(value: string | undefined): void {
    if (value && value.length >= 6) this.secrets.add(value);
  }

  private clean(message: string): string {
    let m = message;
    for (const s of this.secrets) if (m.includes(s)) m = m.split(s).join('***');
    return m;
  }

  trace(message: string): void {
    this.channel.trace(this.clean(message));
  }
  debug(message: string): void {
    this.channel.debug(this.clean(message));
  }
  info(message: string): void {
    this.channel.info(this.clean(message));
  }
  warn(message: string): void {
    this.channel.warn(this.clean(message));
  }
  error(message: string): void {
    this.channel.error(this.clean(message));
  }
  dispose(): void {
    this.channel.dispose();
  }
}
