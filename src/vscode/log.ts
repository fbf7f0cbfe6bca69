import vscode = require('vscode');
import { Logger } from '../log';
import { PROCESS_SECRETS, SecretMask } from '../secretMask';

/**
 * The "Infusionsoft" LogOutputChannel as the core's {@link Logger}. As a last line of defence it
 * masks any value registered with {@link RedactingLogger.addSecret} (tokens, codes, the client
 * secret) and any credential a message echoes (`refresh_token=…`, src/secretMask), though callers
 * are written never to pass one.
 */
export class RedactingLogger implements Logger, vscode.Disposable {
  /** @param mask the secrets to mask; by default this process's, which notifications and tooltips are masked with too. */
  constructor(readonly channel: vscode.LogOutputChannel, readonly mask: SecretMask = PROCESS_SECRETS) {}

  /** Registers a value that must never appear in the log. Values under 6 characters are ignored. */
  addSecret(value: string | undefined): void {
    this.mask.add(value);
  }

  private clean(message: string): string {
    return this.mask.mask(message);
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
