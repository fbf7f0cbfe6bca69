/**
 * Which variable names may hold a token — a pure module. Issue 17.7: the names come from
 * `infusionsoft.env.variables` / `infusionsoft.env.preset`, which a cloned repository's
 * `.vscode/settings.json` can set.
 * - Front-end build tools copy every variable with a public prefix into the JavaScript they ship
 *   to browsers (Next.js `NEXT_PUBLIC_`, Vite `VITE_`, Create React App `REACT_APP_`, SvelteKit
 *   and Astro `PUBLIC_`, Expo `EXPO_PUBLIC_`, Gatsby `GATSBY_`, Nuxt `NUXT_PUBLIC_`): a token
 *   there is published with the site.
 * - A shell's `set -a; source .env` reads `NAME=value` as an assignment only when NAME is a shell
 *   name; `keap-access-token=…` is run as a command instead.
 */

/** Prefixes that front-end builds publish to the browser (compared without regard to case). */
export const PUBLIC_PREFIXES: readonly string[] = ['NEXT_PUBLIC_', 'VITE_', 'REACT_APP_', 'PUBLIC_', 'EXPO_PUBLIC_', 'GATSBY_', 'NUXT_PUBLIC_'];

/** A name a POSIX shell assigns (no dash, no dot, no leading digit). */
export const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export type VariableNameRefusal = { readonly kind: 'public-prefix'; readonly prefix: string } | { readonly kind: 'not-a-shell-name' };

/** Why `name` may not hold a token, or undefined when it may. */
export function refuseVariableName(name: string): VariableNameRefusal | undefined {
  if (!SHELL_NAME.test(name)) return { kind: 'not-a-shell-name' };
  const prefix = PUBLIC_PREFIXES.find(p => name.toUpperCase().startsWith(p));
  return prefix ? { kind: 'public-prefix', prefix } : undefined;
}

/** The refused names among `names` (values of an object of names; undefined entries skipped), each with why. */
export function refusedVariableNames(names: Readonly<Record<string, string | undefined>>): Array<{ readonly name: string; readonly why: VariableNameRefusal }> {
  const out: Array<{ name: string; why: VariableNameRefusal }> = [];
  for (const name of Object.values(names)) {
    if (name === undefined) continue;
    const why = refuseVariableName(name);
    if (why) out.push({ name, why });
  }
  return out;
}
