// Loaded (mocha --require) only by scripts/windows/test-windows.sh, under Windows Node run by Wine.
// Wine 8 fails a TCP socket whose keep-alive is set before it connects (libuv's setsockopt on a
// socket still connecting returns an error Wine leaves unmapped: "connect UNKNOWN"). Real Windows
// accepts it. Node's global fetch (undici) does exactly that, so every test client using fetch()
// failed under Wine; the extension itself uses node-fetch over `http`, which sets keep-alive only
// on a connected socket and needs no help. This defers keep-alive to the 'connect' event; nothing
// else changes.
'use strict';
const net = require('net');
const setKeepAlive = net.Socket.prototype.setKeepAlive;
net.Socket.prototype.setKeepAlive = function (enable, initialDelay) {
  if (this.connecting) {
    this.once('connect', () => setKeepAlive.call(this, enable, initialDelay));
    return this;
  }
  return setKeepAlive.call(this, enable, initialDelay);
};
