// Socket.IO 4.8 peer: rooms for groups, a room per user for private messages, `io.to(room).emit`.
// Clients send ["join", group] (acked), ["pub", group, msg], ["priv", user, msg] and receive
// "message" {group, sender, msg} and "private" {sender, msg}: what an app on Socket.IO would do.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { verify, options } from './jwt.mjs';

const { port, secret } = options();
const http = createServer();
const io = new Server(http, { transports: ['websocket'], serveClient: false, perMessageDeflate: false });

io.use((socket, next) => {
  const user = verify(socket.handshake.auth && socket.handshake.auth.token, secret);
  if (!user) return next(new Error('unauthorized'));
  socket.data.user = user;
  next();
});

io.on('connection', (socket) => {
  const user = socket.data.user;
  socket.join('user:' + user);
  let group = null;
  socket.on('join', (g, ack) => {
    if (group) socket.leave('group:' + group);
    group = typeof g === 'string' && g ? g : null;
    if (group) socket.join('group:' + group);
    if (typeof ack === 'function') ack();
  });
  socket.on('pub', (g, msg) => {
    if (g !== group) return;
    io.to('group:' + g).emit('message', { group: g, sender: user, msg });
  });
  socket.on('priv', (to, msg) => {
    io.to('user:' + to).emit('private', { group: group || '', sender: user, msg });
  });
});

http.listen(port, '127.0.0.1', () => console.log(`socket.io peer listening on ${port}`));
