// npm's `prepare`: a checkout without the bundle (an install from git) builds and bundles what the
// package ships. npm 11 prepares a git dependency of a global install without linking its
// devDependencies where the build can see them, so when TypeScript or esbuild is missing here they
// are installed into this checkout first, then the build and the bundle run.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';

if (!existsSync('dist/bundle/main.js')) {
  const env = { ...process.env };
  // The global install's own settings must not leak into the checkout's install and build.
  for (const key of Object.keys(env)) if (/^npm_config_(global|prefix|location|allow[-_]scripts)$/i.test(key)) delete env[key];
  if (!existsSync('node_modules/typescript') || !existsSync('node_modules/esbuild')) {
    execSync('npm install --no-save --no-audit --no-fund --include=dev --ignore-scripts', { stdio: 'inherit', env });
  }
  if (!existsSync('dist/src/cli/main.js')) execSync('npm run build', { stdio: 'inherit', env });
  execSync('npm run bundle', { stdio: 'inherit', env });
}
