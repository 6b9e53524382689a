/**
 * `meterhub serve` alone: the entry scripts/build-host.mjs bundles into build/server/serve.mjs, which
 * bin/meterhub.mjs runs on a bare node when it is up to date. The server then carries no tsx loader (and no
 * esbuild service process), which is most of the idle memory issue 17 measured; see docs/architecture.md.
 */
import { programShell } from './main.ts';
import { register } from './commands/serve.ts';

export async function serveMain(argv: string[]): Promise<void> {
  const program = programShell();
  register(program);
  await program.parseAsync(argv);
}
