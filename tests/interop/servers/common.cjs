'use strict';
// Shared by both interoperability servers: the schema with its resolvers, the
// log format the Python fixtures read, and the command line / environment knobs.
//
// CommonJS on purpose: subscriptions-transport-ws require()s graphql, and the
// schema has to come from the very graphql copy that executes it.
const fs = require('fs');
const path = require('path');
const { buildSchema, GraphQLError } = require('graphql');

const SCHEMA_PATH = path.join(__dirname, '..', 'schema.graphql');

// One line per event on stdout: "[<server>] <event> <details>".  The Python
// fixtures wait for these lines (tests/interop/conftest.py), so keep the
// formats stable:
//   listening url=ws://HOST:PORT/graphql pid=PID
//   connection #N protocol="..."
//   init #N params={...}
//   rejected #N
//   closed #N code=C reason="..."
//   ws-pong #N           (websocket PONG frame received)
//   gql-pong #N          (graphql-transport-ws pong message received)
//   countdown #N from=F start
//   countdown #N from=F end items=K completed|stopped
//   errorAfter #N n=X failing
function makeLogger(serverName) {
  return (...parts) => {
    process.stdout.write(`[${serverName}] ${parts.join(' ')}\n`);
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The GraphQL context of every operation is {connectionParams, connectionNo};
// each server builds it from its own connection bookkeeping.
function buildTestSchema(log) {
  const schema = buildSchema(fs.readFileSync(SCHEMA_PATH, 'utf8'));

  const query = schema.getQueryType().getFields();
  query.hello.resolve = (_root, args) => `Hello ${args.name}!`;
  query.echo.resolve = (_root, args) => args.input;
  query.error.resolve = (_root, args) => {
    throw new GraphQLError(args.message);
  };
  query.errorNonNull.resolve = (_root, args) => {
    throw new GraphQLError(args.message);
  };
  query.connectionParams.resolve = (_root, _args, context) => {
    const params = context ? context.connectionParams : undefined;
    return params === undefined || params === null ? null : JSON.stringify(params);
  };

  query.sleep.resolve = async (_root, args) => {
    await sleep(args.ms);
    return args.ms;
  };

  const mutation = schema.getMutationType().getFields();
  mutation.addNumbers.resolve = (_root, args) => args.a + args.b;

  const subscription = schema.getSubscriptionType().getFields();

  subscription.countdown.subscribe = async function* countdown(_root, args, context) {
    const conn = connectionLabel(context);
    const delay = args.delay_ms == null ? 0 : args.delay_ms;
    let items = 0;
    let completed = false;
    log('countdown', conn, `from=${args.from}`, 'start');
    try {
      for (let i = args.from; i >= 0; i--) {
        items += 1;
        yield { countdown: i };
        if (i > 0 && delay > 0) await sleep(delay);
      }
      completed = true;
    } finally {
      // Runs when the stream ends and also when the server stops the
      // generator because the client said stop/complete or went away.
      log('countdown', conn, `from=${args.from}`, 'end', `items=${items}`, completed ? 'completed' : 'stopped');
    }
  };
  subscription.countdown.resolve = (payload) => payload.countdown;

  subscription.errorAfter.subscribe = async function* errorAfter(_root, args, context) {
    const delay = args.delay_ms == null ? 0 : args.delay_ms;
    for (let i = 0; i < args.n; i++) {
      yield { errorAfter: i };
      if (delay > 0) await sleep(delay);
    }
    log('errorAfter', connectionLabel(context), `n=${args.n}`, 'failing');
    throw new Error(`errorAfter: failing after ${args.n} items`);
  };
  subscription.errorAfter.resolve = (payload) => payload.errorAfter;

  subscription.sequence.subscribe = (_root, args) => ticker.subscribe(args.current);
  subscription.sequence.resolve = (payload) => payload;

  return schema;
}

// One global sequence, sent to every subscriber of `sequence` at each tick
// (INTEROP_SEQUENCE_MS apart, 10 by default), in the order they subscribed:
// a client moving a subscription between connections can count what it
// missed and what it got twice.  It starts with the first subscriber and
// never stops, so that the numbers are the server's, not a connection's.
const ticker = (() => {
  const subscribers = new Set();
  let value = 0;
  let timer = null;
  const start = () => {
    if (timer !== null) return;
    timer = setInterval(() => {
      value += 1;
      for (const push of subscribers) push(value);
    }, envMs('INTEROP_SEQUENCE_MS', 10));
    timer.unref();
  };
  return {
    subscribe(current) {
      const queue = current && value > 0 ? [value] : [];
      let wake = null;
      let closed = false;
      const push = (n) => {
        queue.push(n);
        if (wake !== null) {
          wake();
          wake = null;
        }
      };
      subscribers.add(push);
      start();
      return {
        [Symbol.asyncIterator]() {
          return this;
        },
        async next() {
          while (queue.length === 0) {
            if (closed) return { value: undefined, done: true };
            await new Promise((resolve) => (wake = resolve));
          }
          return { value: queue.shift(), done: false };
        },
        async return() {
          closed = true;
          subscribers.delete(push);
          if (wake !== null) wake();
          return { value: undefined, done: true };
        },
      };
    },
  };
})();

function connectionLabel(context) {
  return context && context.connectionNo !== undefined ? `#${context.connectionNo}` : '#?';
}

// A whole number of milliseconds from the environment; `fallback` when unset.
function envMs(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} must be a whole number of milliseconds >= 0, got ${JSON.stringify(raw)}`);
  }
  return value;
}

// node <server>.cjs [PORT [HOST]]: PORT 0 (the default) lets the OS pick a free
// port; the "listening" line reports the real one.
function parseArgs(argv) {
  const port = argv.length > 2 ? Number(argv[2]) : 0;
  const host = argv.length > 3 ? argv[3] : '127.0.0.1';
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`usage: node ${path.basename(argv[1])} [PORT [HOST]]\n`);
    process.exit(2);
  }
  return { port, host };
}

// Exit cleanly on SIGTERM/SIGINT so the fixture's stop is quick and quiet.
//
// With INTEROP_EXIT_CLOSE_CODE=C set, a restart the clients are told about:
// the server stops listening (`hooks.stopListening()`), closes every open
// websocket (`hooks.openSockets()`) with code C and reason "server stopping",
// and exits once they all closed (after 2 s at the most).  Unset (or without
// hooks), the process exits at once: the clients see their TCP connection end
// without a close frame.
function exitOnSignals(log, hooks) {
  const rawCode = process.env.INTEROP_EXIT_CLOSE_CODE;
  const closeCode = rawCode === undefined || rawCode.trim() === '' ? null : Number(rawCode);
  if (closeCode !== null && !(Number.isInteger(closeCode) && closeCode >= 1000 && closeCode <= 4999)) {
    throw new Error(`INTEROP_EXIT_CLOSE_CODE must be a close code, got ${JSON.stringify(rawCode)}`);
  }
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      log('stopping', `signal=${signal}`);
      if (closeCode === null || !hooks) process.exit(0);
      hooks.stopListening();
      const sockets = [...hooks.openSockets()];
      let open = sockets.length;
      if (open === 0) process.exit(0);
      for (const socket of sockets) {
        socket.once('close', () => {
          open -= 1;
          if (open === 0) process.exit(0);
        });
        socket.close(closeCode, 'server stopping');
      }
      setTimeout(() => process.exit(0), 2000);
    });
  }
}

module.exports = { buildTestSchema, envMs, exitOnSignals, makeLogger, parseArgs };
