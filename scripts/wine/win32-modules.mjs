/**
 * Preload for the Windows Node under wine (NODE_OPTIONS=--import=<this file's URL>): the Linux install's
 * node_modules has only the linux-x64 native packages, and must stay as it is. The Windows ones live in
 * build/win32-x64/node_modules (scripts/wine/setup.sh); this hook resolves `koffi` there, where koffi finds
 * @koromix/koffi-win32-x64 beside itself. NODE_OPTIONS is inherited, so driver hosts started by the
 * supervisor get it too.
 */
import { register } from 'node:module';

register('./win32-resolve.mjs', import.meta.url);
