'use strict';
// Interoperability server on Mercurius (npm mercurius on fastify, websockets by
// @fastify/websocket): one endpoint that speaks both subprotocols,
// graphql-transport-ws and the legacy graphql-ws, whichever the client offers
// first.  With `fullWsTransport` queries and mutations run over the websocket
// too, not only subscriptions.
//
//   node servers/mercurius_server.cjs [PORT [HOST]]   -> ws://HOST:PORT/graphql
//
// Environment knobs (all optional):
//   INTEROP_KEEPALIVE_MS     Mercurius's keepAlive: right after connection_ack and
//                            then every N ms it sends {"type":"ping"}
//                            (graphql-transport-ws) or {"type":"ka"} (graphql-ws)
//                            (default 0 = off)
//   INTEROP_REQUIRE_TOKEN    "1": refuse a connection_init payload without a token
//   INTEROP_EXIT_CLOSE_CODE  as in common.cjs: on SIGTERM close every websocket
//                            with this code first
//   INTEROP_EXIT_FASTIFY_CLOSE
//                            "1": on SIGTERM shut down the way a Mercurius
//                            application does, with fastify.close(), whose
//                            websocket plugin closes every socket with a close
//                            frame that carries no status code
// connection_init payload conventions, checked by Mercurius's onConnect:
//   {"token": "bad"}         refuse the connection
//   {"reject": true}         refuse the connection
// Mercurius refuses with {"type":"connection_error","payload":{"message":"Forbidden"}}
// on either subprotocol, then closes the socket without a status code.
// Log lines as described in common.cjs; `gql-pong #N` is each graphql-transport-ws
// pong, the client's answer to a keep-alive ping.
const Fastify = require('fastify');
const fastifyWebsocket = require('@fastify/websocket');
const mercurius = require('mercurius');
const { buildTestSchema, envMs, exitOnSignals, makeLogger, parseArgs } = require('./common.cjs');

const log = makeLogger('mercurius');
const { port, host } = parseArgs(process.argv);
const keepAliveMs = envMs('INTEROP_KEEPALIVE_MS', 0);
const requireToken = process.env.INTEROP_REQUIRE_TOKEN === '1';
const fastifyCloseOnExit = process.env.INTEROP_EXIT_FASTIFY_CLOSE === '1';

const schema = buildTestSchema(log);
const connectionNumbers = new WeakMap();
let connectionCount = 0;
const label = (socket) => (connectionNumbers.has(socket) ? `#${connectionNumbers.get(socket)}` : '#?');

function refusal(payload) {
  if (payload === null || typeof payload !== 'object') return requireToken ? 'no token' : null;
  if (payload.reject) return 'reject=true';
  if (payload.token === 'bad') return 'bad token';
  if (requireToken && !payload.token) return 'no token';
  return null;
}

// Mercurius calls onConnect(message) as a method of its object for the socket;
// `this.socket` is the one way to tell which numbered connection sent it.
function onConnect(message) {
  const socket = this && this.socket;
  const payload = message.payload === undefined ? null : message.payload;
  log('init', label(socket), `params=${JSON.stringify(payload)}`);
  const why = refusal(payload);
  if (why !== null) {
    log('rejected', label(socket), `why=${JSON.stringify(why)}`);
    return false;
  }
  // Merged into the GraphQL context of every operation of the connection.
  return { connectionParams: payload, connectionNo: connectionNumbers.get(socket) };
}

const app = Fastify({ logger: false });
// Registered here, at the root, rather than by Mercurius inside its own plugin
// scope (which it skips when the root has it), so that `app.websocketServer`
// is reachable below; same maxPayload as Mercurius would give it.
app.register(fastifyWebsocket, { options: { maxPayload: 1048576 } });
app.register(mercurius, {
  schema,
  path: '/graphql',
  graphiql: false,
  subscription: {
    fullWsTransport: true,
    keepAlive: keepAliveMs > 0 ? keepAliveMs : undefined,
    onConnect,
  },
});

async function main() {
  await app.ready();
  // @fastify/websocket emits `connection` before it hands the socket to
  // Mercurius, so every socket is numbered before any of its messages is read.
  app.websocketServer.on('connection', (socket) => {
    connectionCount += 1;
    connectionNumbers.set(socket, connectionCount);
    log('connection', label(socket), `protocol=${JSON.stringify(socket.protocol)}`);
    socket.on('message', (data, isBinary) => {
      if (socket.protocol !== 'graphql-transport-ws' || isBinary) return;
      let message;
      try {
        message = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (message !== null && message.type === 'pong') log('gql-pong', label(socket));
    });
    socket.on('close', (code, reason) =>
      log('closed', label(socket), `code=${code}`, `reason=${JSON.stringify(String(reason))}`),
    );
  });
  await app.listen({ port, host });
  const address = app.server.address();
  log('listening', `url=ws://${address.address}:${address.port}/graphql`, `pid=${process.pid}`);
}

function exitWithFastifyClose() {
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      log('stopping', `signal=${signal}`);
      const sockets = [...app.websocketServer.clients];
      let open = sockets.length;
      const closedOne = () => {
        open -= 1;
        if (open === 0) process.exit(0);
      };
      for (const socket of sockets) socket.once('close', closedOne);
      // Exit only once the clients answered the close frames, so that none is lost.
      app.close().then(() => {
        if (open === 0) process.exit(0);
      });
      setTimeout(() => process.exit(0), 2000);
    });
  }
}

if (fastifyCloseOnExit) {
  exitWithFastifyClose();
} else {
  exitOnSignals(log, {
    stopListening: () => app.server.close(),
    openSockets: () => app.websocketServer.clients,
  });
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
