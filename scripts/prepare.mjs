// npm's `prepare`: a checkout without dist/ (an install from git) builds it. npm 11 prepares a git
// dependency of a global install without linking its devDependencies where the build can see them,
// so when TypeScript is missing here it is installed into this checkout first, then the build runs.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';

if (!existsSync('dist/src/cli/main.js')) {
  const env = { ...process.env };
  // The global install's own settings must not leak into the checkout's install and build.
  for (const key of Object.keys(env)) if (/^npm_config_(global|prefix|location|allow[-_]scripts)$/i.test(key)) delete env[key];
  if (!existsSync('node_modules/typescript')) {
    execSync('npm install --no-save --no-audit --no-fund --include=dev --ignore-scripts', { stdio: 'inherit', env });
  }
  execSync('npm run build', { stdio: 'inherit', env });
}
