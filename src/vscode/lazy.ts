/**
 * A feature built on first use. `lazy(build)` returns a function whose first call runs `build`
 * (typically `await import('./feature')` and a constructor) and whose later calls share that one
 * result, so a feature's state exists once however many commands reach it. A failed build is
 * forgotten, so the next use tries again. `loaded` is the built value once there is one.
 *
 * Why: VS Code reads and runs an extension's main file before it paints anything of it; what the
 * first status bar paint does not need waits in a file of its own (scripts/bundle.js) until a
 * command, the URI handler or a setting asks for it.
 */
export interface Lazy<T> {
  (): Promise<T>;
  readonly loaded: T | undefined;
}

export function lazy<T>(build: () => Promise<T>): Lazy<T> {
  let pending: Promise<T> | undefined;
  let value: T | undefined;
  const get = () =>
    (pending ??= build().then(
      v => (value = v),
      e => {
        pending = undefined;
        throw e;
      },
    ));
  return Object.defineProperty(get, 'loaded', { get: () => value }) as Lazy<T>;
}
