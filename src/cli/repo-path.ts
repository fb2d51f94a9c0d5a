/**
 * File names as CI systems place findings: relative to the root of the repository they checked out.
 * GitHub attaches an annotation, and code scanning and GitLab a result, to the file of that name in
 * the repository; a name relative to the step's directory does not match one. A job that runs lint
 * in a subdirectory (GitHub's `working-directory`, a `cd` in a GitLab script), or gives `./logs/a.jsonl`,
 * wrote `a.jsonl` or `./logs/a.jsonl` where the repository has `logs/a.jsonl`, and nothing was shown
 * on the file. The root is what the CI system names it: GITHUB_WORKSPACE, or GitLab's CI_PROJECT_DIR.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/** The environment variable that names the checked-out repository's root, for a report's CI system. */
export type RootVariable = 'GITHUB_WORKSPACE' | 'CI_PROJECT_DIR';

/** `file` within `root`, with `/` separators, or null when it lies outside. */
function within(root: string, file: string): string | null {
  const path = relative(root, file);
  if (path === '' || path === '..' || path.startsWith(`..${sep}`) || isAbsolute(path)) return null;
  return path.split(sep).join('/');
}

/**
 * Names files relative to the root the environment names, where they lie within it; any other name
 * (no root named, a file outside it, `<stdin>`) is kept as given.
 */
export function repoPaths(variable: RootVariable): (file: string) => string {
  const root = process.env[variable];
  if (!root) return (file) => file;
  // The root as named, and as the kernel names it: a workspace reached through a symbolic link
  // holds files whose resolved names start with the link's target.
  const roots = [resolve(root)];
  try {
    const real = realpathSync(root);
    if (real !== roots[0]) roots.push(real);
  } catch {
    // a root that does not exist holds no file: every name stays as given
  }
  const names = new Map<string, string>();
  return (file) => {
    if (file === '<stdin>') return file;
    let name = names.get(file);
    if (name === undefined) {
      const path = resolve(file);
      name = roots.map((r) => within(r, path)).find((n) => n !== null) ?? file;
      names.set(file, name);
    }
    return name;
  };
}
