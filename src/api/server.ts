import type { Server } from 'node:http';
import type express from 'express';

/** Listens and resolves once bound; `close` waits for open requests to end. */
export function listen(app: express.Express, port: number, host = '0.0.0.0'): Promise<{ server: Server; close(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (error?: Error) => {
      if (error) return reject(error);
      resolve({
        server,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}
