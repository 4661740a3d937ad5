// Appended inside the module factory (--post-js): lets js/index.js reach the browser WebSocket
// behind a socket id, which connectRealtime() returns as Skapi does.
Module['socketById'] = function (id) {
  return (typeof WS !== 'undefined' && WS.sockets[id]) || null;
};
