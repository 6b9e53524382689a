/**
 * The Node driver host: a child process that owns exactly one maker library (docs/driver-protocol.md).
 *
 * Started by core/driver/supervisor.ts as `node --import <tsx/esm> core/driver/host/main.ts`, possibly with a
 * different node (a 32-bit Node 22 for 32-bit DLLs). Requests are handled strictly one at a time: each
 * library call is synchronous, so the next stdin line is not even read before the call returns — vendor
 * libraries are not reentrant. The host exits when stdin closes (the supervisor is gone).
 */
import { HOST_ERROR, type LoadParams } from '../protocol.ts';
import { LibraryBinding } from './binding.ts';
import { HostCallError, serveHost } from './serve-host.ts';

let binding: LibraryBinding | undefined;

serveHost({
  name: 'driver host',
  load(params) {
    const lp = params as unknown as LoadParams;
    if (typeof lp.path !== 'string' || lp.path === '')
      throw new HostCallError(HOST_ERROR.BAD_PARAMS, 'path must be a non-empty string', 'path');
    const symbols = lp.symbols && typeof lp.symbols === 'object' ? lp.symbols : {};
    binding = new LibraryBinding(lp.path, symbols);
    return { ...binding.load };
  },
  call: (method, params) => binding!.call(method, params),
});
