import { createServer } from 'node:net';

/**
 * Ports handed out, from below Linux's ephemeral range (32768–60999): a port the OS picked for
 * "any free port" is also where it puts the local end of outgoing connections, so a process that
 * binds it a moment later can find it taken by some client socket.
 */
const FIRST_PORT = 20_000;
const PORTS = 12_000;

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = FIRST_PORT + Math.floor(Math.random() * PORTS);
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port between ${FIRST_PORT} and ${FIRST_PORT + PORTS}`);
}

/** Fails clearly when something already listens on the port, instead of talking to a stranger's server. */
export function assertPortFree(port: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', () => reject(new Error(`port ${port} for ${what} is already in use (another hubsync or Temporal running?)`)));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}
