/**
 * Preloaded into a CLI under test (`NODE_OPTIONS`, see `LIST_PACKAGES` in test/helpers/cli.ts):
 * registers module hooks (test/helpers/package-hooks.ts) that write each npm package the process
 * loads as `package: NAME` on stderr. The hooks run on a thread of their own, so node:worker_threads
 * is loaded by this probe: it is not used with LIST_BUILTINS.
 */
import { register } from 'node:module';

register(new URL('./package-hooks.js', import.meta.url));
