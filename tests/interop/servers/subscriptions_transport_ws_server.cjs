'use strict';
// Interoperability server for the legacy `graphql-ws` subprotocol, written on the
// reference library: npm subscriptions-transport-ws `SubscriptionServer` (which
// brings its own ws@7).
//
//   node servers/subscriptions_transport_ws_server.cjs [PORT [HOST]]   -> ws://HOST:PORT/graphql
//
// Environment knobs (milliseconds, all optional):
//   INTEROP_KEEPALIVE_MS     send {"type":"ka"} right after connection_ack and then
//                            every N ms (library option keepAlive; default 0 = off)
// The library has no connection-init timeout, no websocket PING frames and no
// protocol ping.
// connection_init payload conventions:
//   {"reject": true}         refuse the connection: connection_error {message},
//                            then the library closes the socket (1011)
//   ackPayload               not supported: this library's connection_ack has no payload
const { SubscriptionServer } = require('subscriptions-transport-ws');
const { execute, subscribe } = require('graphql');
const { buildTestSchema, envMs, exitOnSignals, makeLogger, parseArgs } = require('./common.cjs');

const log = makeLogger('subscriptions-transport-ws');
const { port, host } = parseArgs(process.argv);
const keepAliveMs = envMs('INTEROP_KEEPALIVE_MS', 0);

const schema = buildTestSchema(log);
const connectionNumbers = new WeakMap();
let connectionCount = 0;
const label = (socket) => `#${connectionNumbers.get(socket)}`;

const server = SubscriptionServer.create(
  {
    schema,
    execute,
    subscribe,
    keepAlive: keepAliveMs > 0 ? keepAliveMs : undefined,
    // The object returned here is the GraphQL context of every operation.
    onConnect: (connectionParams, socket) => {
      const params = connectionParams || {};
      log('init', label(socket), `params=${JSON.stringify(connectionParams === undefined ? null : connectionParams)}`);
      if (params.reject) {
        log('rejected', label(socket));
        throw new Error('Connection rejected by the server (reject=true)');
      }
      return { connectionParams, connectionNo: connectionNumbers.get(socket) };
    },
  },
  { host, port, path: '/graphql' },
);

// SubscriptionServer registered its listener first, but messages are handled
// later, so the number is there before onConnect runs.
server.server.on('connection', (socket) => {
  connectionCount += 1;
  connectionNumbers.set(socket, connectionCount);
  log('connection', label(socket), `protocol=${JSON.stringify(socket.protocol)}`);
  socket.on('close', (code, reason) =>
    log('closed', label(socket), `code=${code}`, `reason=${JSON.stringify(String(reason))}`),
  );
});

server.server.on('listening', () => {
  const address = server.server.address();
  log('listening', `url=ws://${address.address}:${address.port}/graphql`, `pid=${process.pid}`);
});
exitOnSignals(log, {
  // ws 7's close() would terminate the sockets too: its HTTP server alone stops listening
  stopListening: () => server.server._server.close(),
  openSockets: () => server.server.clients,
});
