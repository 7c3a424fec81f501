'use strict';
// Interoperability server for the `graphql-transport-ws` subprotocol, written on
// the reference library: npm graphql-ws `useServer` on a `ws` WebSocketServer.
//
//   node servers/graphql_ws_server.cjs [PORT [HOST]]   -> ws://HOST:PORT/graphql
//
// Environment knobs (milliseconds, all optional):
//   INTEROP_INIT_TIMEOUT_MS  connectionInitWaitTimeout: close 4408 when no
//                            connection_init arrives in time (library default 3000)
//   INTEROP_WS_PING_MS       interval of websocket PING frames; the library
//                            terminates a socket that does not answer with a PONG
//                            frame within the same interval (default 12000, 0 = off)
//   INTEROP_GQL_PING_MS      send protocol {"type":"ping"} messages every N ms after
//                            the ack (default 0 = off)
// connection_init payload conventions:
//   {"reject": true}         refuse the connection: close 4403 Forbidden
//   {"ackPayload": {...}}    sent back as the payload of connection_ack
const { WebSocketServer } = require('ws');
const { useServer } = require('graphql-ws/use/ws');
const { buildTestSchema, envMs, exitOnSignals, makeLogger, parseArgs } = require('./common.cjs');

const log = makeLogger('graphql-ws');
const { port, host } = parseArgs(process.argv);
const initTimeoutMs = envMs('INTEROP_INIT_TIMEOUT_MS', 3000);
const wsPingMs = envMs('INTEROP_WS_PING_MS', 12000);
const gqlPingMs = envMs('INTEROP_GQL_PING_MS', 0);

const schema = buildTestSchema(log);
const connectionNumbers = new WeakMap();
let connectionCount = 0;
const label = (socket) => `#${connectionNumbers.get(socket)}`;

const wss = new WebSocketServer({ host, port, path: '/graphql' });

// Registered before useServer's own listener, so every socket is numbered
// before any of its messages is handled.
wss.on('connection', (socket) => {
  connectionCount += 1;
  connectionNumbers.set(socket, connectionCount);
  log('connection', label(socket), `protocol=${JSON.stringify(socket.protocol)}`);
  socket.on('pong', () => log('ws-pong', label(socket)));
});

useServer(
  {
    schema,
    connectionInitWaitTimeout: initTimeoutMs,
    context: (ctx) => ({
      connectionParams: ctx.connectionParams,
      connectionNo: connectionNumbers.get(ctx.extra.socket),
    }),
    onConnect: (ctx) => {
      const socket = ctx.extra.socket;
      const params = ctx.connectionParams || {};
      log('init', label(socket), `params=${JSON.stringify(ctx.connectionParams === undefined ? null : ctx.connectionParams)}`);
      if (params.reject) {
        log('rejected', label(socket));
        return false;
      }
      if (gqlPingMs > 0) {
        const timer = setInterval(() => {
          if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ type: 'ping' }));
        }, gqlPingMs);
        socket.once('close', () => clearInterval(timer));
      }
      if (params.ackPayload !== null && typeof params.ackPayload === 'object') return params.ackPayload;
      return true;
    },
    onPong: (ctx) => log('gql-pong', label(ctx.extra.socket)),
    onClose: (ctx, code, reason) =>
      log('closed', label(ctx.extra.socket), `code=${code}`, `reason=${JSON.stringify(String(reason))}`),
  },
  wss,
  wsPingMs,
);

wss.on('listening', () => {
  const address = wss.address();
  log('listening', `url=ws://${address.address}:${address.port}/graphql`, `pid=${process.pid}`);
});
exitOnSignals(log, { stopListening: () => wss.close(), openSockets: () => wss.clients });
