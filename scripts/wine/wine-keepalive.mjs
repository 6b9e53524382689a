/**
 * Preload for the Windows Node under wine only (the wine job's NODE_OPTIONS; never on a real counter PC).
 * Wine 8 refuses SO_KEEPALIVE on a socket that is still connecting: libuv reports UNKNOWN (-4094) and the
 * connection fails. undici (Node's fetch) sets keep-alive right after net.connect, so every fetch from the
 * Windows station to the central server failed under wine while node:http, which sets it later, worked.
 * Real Windows accepts it; here the option is applied once the socket has connected, which is what it means.
 */
import net from 'node:net';

const setKeepAlive = net.Socket.prototype.setKeepAlive;
net.Socket.prototype.setKeepAlive = function keepAliveOnceConnected(enable, delay) {
  if (this.connecting) {
    this.once('connect', () => setKeepAlive.call(this, enable, delay));
    return this;
  }
  return setKeepAlive.call(this, enable, delay);
};
