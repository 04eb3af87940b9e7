// A hubsync worker in its own OS process (test/support/second-worker.ts) on a stack's task queue,
// sharing only PostgreSQL and Temporal with the test: another machine, as far as the stack can tell.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import type { Stack } from './stack.js';

const SECOND_WORKER = fileURLToPath(new URL('./second-worker.ts', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** Stops the process (SIGTERM drains it; SIGKILL is a crash) and removes its bundle file. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startWorkerProcess(stack: Stack): Promise<WorkerProcess> {
  const bundleDir = mkdtempSync(join(tmpdir(), 'hubsync-bundle-'));
  const bundle = join(bundleDir, 'workflows.js');
  writeFileSync(bundle, inject('workflowBundleCode'));
  const child = spawn(process.execPath, ['--import', 'tsx', SECOND_WORKER], {
    env: {
      ...process.env,
      DATABASE_URL: stack.db.url,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TASK_QUEUE: stack.taskQueue,
      HUBSPOT_CONFIG: JSON.stringify(stack.hubspot),
      CIPHER_KEY: stack.cipherKey,
      WORKFLOW_BUNDLE: bundle,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      const found = /ready (\d+)/.exec(chunk.toString())?.[1];
      if (found) resolve(Number(found));
    });
    child.once('exit', (code) => reject(new Error(`worker process exited ${code}`)));
  });
  return {
    child,
    pid,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
      rmSync(bundleDir, { recursive: true, force: true });
    },
  };
}
