import { execFileSync, spawnSync } from 'child_process';
import * as dotenv from 'dotenv';
import fs = require('fs');
import os = require('os');
import path = require('path');

/**
 * The programs that read a `.env` file the extension writes, each as the user's tools run it, for
 * tests that check every write against all of them (issue 19.3). Each reader takes a file's text
 * and the keys to look up, and answers the values it sees (undefined: not defined).
 */
export interface EnvReader {
  readonly name: string;
  read(text: string, keys: readonly string[]): Array<string | undefined>;
}

/** dotenv (the npm library, the project's devDependency): `dotenv.parse`. */
export const DOTENV: EnvReader = {
  name: `dotenv ${require('dotenv/package.json').version}`,
  read: (text, keys) => {
    const parsed = dotenv.parse(text);
    return keys.map(k => parsed[k]);
  },
};

function withFile<T>(text: string, fn: (file: string, dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'env-readers-'));
  try {
    const file = path.join(dir, '.env');
    fs.writeFileSync(file, text);
    return fn(file, dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Real bash: `set -a; source .env`, then each variable printed NUL-terminated (unset ones as a marker). */
export const BASH: EnvReader = {
  name: 'bash source',
  read: (text, keys) =>
    withFile(text, (file, dir) => {
      const out = execFileSync(
        'bash',
        ['-c', 'set -a; source "$1" >/dev/null 2>&1; shift; for k in "$@"; do if [ -n "${!k+x}" ]; then printf "=%s\\0" "${!k}"; else printf "\\0"; fi; done', 'bash', file, ...keys],
        { encoding: 'utf8', cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir }, maxBuffer: 64 << 20 },
      ).split('\0');
      return keys.map((_, i) => (out[i].startsWith('=') ? out[i].slice(1) : undefined));
    }),
};

/** The python-dotenv of one Python interpreter (`dotenv_values`, as `load_dotenv` reads), when it is installed there. */
function pythonDotenv(python: string): EnvReader | undefined {
  const probe = spawnSync(python, ['-c', 'import importlib.metadata as m, dotenv; print(m.version("python-dotenv"))'], { encoding: 'utf8' });
  if (probe.status !== 0) return undefined;
  return {
    name: `python-dotenv ${probe.stdout.trim()} (${python})`,
    read: (text, keys) =>
      withFile(text, file => {
        const out = execFileSync(python, ['-c', 'import json, sys\nfrom dotenv import dotenv_values\nprint(json.dumps(dotenv_values(sys.argv[1])))', file], {
          encoding: 'utf8',
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: os.tmpdir(), PYENV_VERSION: process.env.PYENV_VERSION ?? '' },
          maxBuffer: 64 << 20,
        });
        const values = JSON.parse(out) as Record<string, string | null>;
        return keys.map(k => values[k] ?? undefined);
      }),
  };
}

/** Every python-dotenv found on this machine (the one `python3` runs, and Debian's python3-dotenv), by version. */
export function pythonDotenvReaders(): EnvReader[] {
  const found: EnvReader[] = [];
  for (const python of ['python3', '/usr/bin/python3']) {
    const r = pythonDotenv(python);
    if (r && !found.some(f => f.name.split(' (')[0] === r.name.split(' (')[0])) found.push(r);
  }
  return found;
}

/**
 * Docker's `--env-file` (and Compose's `env_file` in its legacy format), by the rules of
 * docker/cli `opts/envfile.go` `parseKeyValueFile`: a UTF-8 BOM is dropped; each line (CR before
 * the LF dropped, as bufio.ScanLines does) has its leading whitespace removed; empty lines and
 * lines starting with `#` are skipped; the name is what comes before the first `=` (an error when
 * it holds whitespace) and the value is every byte after it: no quote removal, no escapes, no
 * inline comments, no `export`. A line without `=` takes the value from the environment (not
 * modelled: undefined). Docker is not installed here, so this is the model of its documented rules.
 */
export const DOCKER_ENV_FILE: EnvReader = {
  name: 'docker --env-file (rules of docker/cli opts/envfile.go)',
  read: (text, keys) => {
    const values = new Map<string, string>();
    const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
    for (const raw of body.split('\n')) {
      const line = raw.replace(/\r$/, '').replace(/^\s+/, '');
      if (line === '' || line.startsWith('#')) continue;
      const eq = line.indexOf('=');
      if (eq < 0) continue;
      const name = line.slice(0, eq);
      if (/\s/.test(name)) throw new Error(`docker: variable '${name}' contains whitespaces`);
      values.set(name, line.slice(eq + 1));
    }
    return keys.map(k => values.get(k));
  },
};
