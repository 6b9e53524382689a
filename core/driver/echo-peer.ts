/**
 * The floor for a driver call (issue 17): a Node process that answers each request line with one frame, doing
 * nothing else. It speaks the driver-host protocol through the very same module (protocol.ts: request lines
 * on stdin, FRAME_MARKER frames on stdout, the same JSON encoding), so an echo round trip costs exactly what
 * crash isolation costs at the least: two pipe writes, two line splits, two JSON parses, two encodes.
 *
 *   node build/driver-host/echo-peer.mjs        (bundled by scripts/build-host.mjs, like the real host)
 *
 * `$load` takes `{ reply }`: the result object every later request is answered with (bench/driver-ipc.ts
 * passes a real Buy result, so the echo moves as many bytes as the real call). Without it, a request's
 * params are echoed back. `$shutdown` answers and exits; the peer also exits when stdin closes.
 */
import { createInterface } from 'node:readline';
import { PROTOCOL_VERSION, encodeFrame, type HostFrame, type RequestFrame } from './protocol.ts';

export function runEchoPeer(): void {
  let reply: Record<string, unknown> | undefined;
  const send = (frame: HostFrame, then?: () => void) => void process.stdout.write(encodeFrame(frame), then);
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    const req = JSON.parse(line) as RequestFrame;
    const params = req.params ?? {};
    if (req.method === '$load') {
      reply = typeof params.reply === 'object' && params.reply !== null ? (params.reply as typeof reply) : undefined;
      send({ id: req.id, result: { functions: [], missing: [], symbols: {} } });
    } else if (req.method === '$shutdown') {
      send({ id: req.id, result: { ok: true } }, () => process.exit(0));
    } else {
      send({ id: req.id, result: reply ?? params });
    }
  });
  rl.on('close', () => process.exit(0));
  send({
    event: 'ready',
    pid: process.pid,
    runtime: `node ${process.version}`,
    arch: process.arch,
    platform: process.platform,
    protocol: PROTOCOL_VERSION,
  });
}

runEchoPeer();
