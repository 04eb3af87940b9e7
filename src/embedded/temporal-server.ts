import { spawn, type ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import type { Logger } from 'pino';
import { SEARCH_ATTRIBUTE_NAMES } from '../temporal/search-attributes.js';
import { findOrBuildTemporalCli } from './temporal-cli.js';
import { assertPortFree, freePort } from './free-port.js';

export interface DevServerOptions {
  /** Omitted: a free port. */
  port?: number;
  /** A port for the Web UI, or false for a headless server. */
  uiPort: number | false;
  /** SQLite file for state that survives restarts; omitted: in memory. */
  dbFilename?: string;
  namespace: string;
  /** Passed through, e.g. `--dynamic-config-value`, `--ui-codec-endpoint`. */
  extraArgs?: string[];
  log: Logger;
}

export interface DevServer {
  address: string;
  uiUrl: string | undefined;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;

async function waitUntilServing(address: string, child: ChildProcess, stderrTail: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`temporal server exited with code ${child.exitCode}: ${stderrTail()}`);
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`temporal server at ${address} did not answer within ${READY_TIMEOUT_MS} ms: ${String(error)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function startFromBinary(executable: string, options: DevServerOptions): Promise<DevServer> {
  const port = options.port ?? (await freePort());
  await assertPortFree(port, 'the Temporal server');
  if (options.uiPort !== false) await assertPortFree(options.uiPort, 'the Temporal Web UI');
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--namespace', options.namespace];
  args.push(...(options.uiPort === false ? ['--headless'] : ['--ui-port', String(options.uiPort)]));
  if (options.dbFilename) args.push('--db-filename', options.dbFilename);
  for (const name of SEARCH_ATTRIBUTE_NAMES) args.push('--search-attribute', `${name}=Keyword`);
  args.push('--log-level', 'error', ...(options.extraArgs ?? []));

  // Its own process group: Ctrl-C reaches only us, and we stop the server after the worker.
  const child = spawn(executable, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const address = `127.0.0.1:${port}`;
  try {
    await waitUntilServing(address, child, () => stderr);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  options.log.debug({ address }, 'temporal dev server ready');
  // Its own process group keeps Ctrl-C from reaching it, so make sure it does not outlive us.
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  return {
    address,
    uiUrl: options.uiPort === false ? undefined : `http://localhost:${options.uiPort}`,
    stop: async () => {
      process.removeListener('exit', killOnExit);
      await stopChild(child);
    },
  };
}

/** What an internet-connected laptop without Go does: the SDK downloads and runs the dev server. */
async function startFromSdkDownload(options: DevServerOptions): Promise<DevServer> {
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const { defineSearchAttributeKey, SearchAttributeType } = await import('@temporalio/common');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      ip: '127.0.0.1',
      ...(options.port ? { port: options.port } : {}),
      ...(options.uiPort === false ? {} : { ui: true, uiPort: options.uiPort }),
      ...(options.dbFilename ? { dbFilename: options.dbFilename } : {}),
      namespace: options.namespace,
      extraArgs: options.extraArgs ?? [],
      searchAttributes: SEARCH_ATTRIBUTE_NAMES.map((name) => defineSearchAttributeKey(name, SearchAttributeType.KEYWORD)),
    },
  });
  return {
    address: env.address,
    uiUrl: options.uiPort === false ? undefined : `http://localhost:${options.uiPort}`,
    stop: () => env.teardown(),
  };
}

export async function startTemporalDevServer(options: DevServerOptions): Promise<DevServer> {
  const executable = await findOrBuildTemporalCli(options.log);
  return executable ? startFromBinary(executable, options) : startFromSdkDownload(options);
}
