// Shared by the backfill benchmarks: a throwaway database, a Temporal dev server, the simulator
// with its rate limits on and latency, and the hubsync worker (in this process, or as the
// production entry point in a child process whose memory is sampled from /proc).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import pg from 'pg';
import type { Logger } from '../src/logger.js';
import { createActivities } from '../src/activities/index.js';
import { startConnection } from '../src/api/connection-start.js';
import { createTokenCipher, type TokenCipher } from '../src/crypto/token-cipher.js';
import { sealedTokens } from '../src/db/connections.js';
import { migrate } from '../src/db/migrate.js';
import { createPool } from '../src/db/pool.js';
import { startTemporalDevServer } from '../src/embedded/temporal-server.js';
import { createRateBudget, DEFAULT_SAFETY_MARGIN } from '../src/hubspot/rate-budget.js';
import { createLogger } from '../src/logger.js';
import { SandboxClient } from '../src/sandbox/client.js';
import { createSandbox, type Sandbox } from '../src/sandbox/server.js';
import { connectTemporalClient } from '../src/temporal/client.js';
import { createDataConverter } from '../src/temporal/data-converter.js';
import { startHubsyncWorker } from '../src/worker/worker.js';
import { connectionWorkflowId, statusQuery } from '../src/workflows/definitions.js';

/** HubSpot's Free/Starter limit per second (100 per rolling 10 s), and what the limiter hands out after its default margin. */
export const CEILING_PER_S = 10;
export const BUDGET_PER_S = Math.floor(CEILING_PER_S * 10 * (1 - DEFAULT_SAFETY_MARGIN)) / 10;
export const BUDGET_SHARE = `${Math.round((BUDGET_PER_S / CEILING_PER_S) * 100)} %`;

export const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;

export async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(sql);
  await client.end();
}

/** The worker's memory as the kernel reports it, sampled every second. */
export interface RssSampler {
  /** Highest VmRSS sampled, bytes. */
  peakSampled: number;
  /** Every sample: time (ms) and VmRSS (bytes). */
  samples: Array<{ at: number; rss: number }>;
  /** The kernel's own high-water mark (VmHWM), bytes: catches peaks between samples. */
  highWaterMark(): Promise<number>;
  /** Current VmRSS, bytes. */
  current(): Promise<number>;
  /** Starts both peaks afresh from the current RSS (Linux `clear_refs` 5), e.g. after start-up. */
  resetPeaks(): Promise<void>;
  stop(): void;
}

async function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1];
  if (kb === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(kb) * 1024;
}

export function sampleRss(pid: number, everyMs = 1000): RssSampler {
  const sampler: RssSampler = {
    peakSampled: 0,
    samples: [],
    highWaterMark: () => procStatus(pid, 'VmHWM'),
    current: () => procStatus(pid, 'VmRSS'),
    resetPeaks: async () => {
      await writeFile(`/proc/${pid}/clear_refs`, '5');
      sampler.peakSampled = await procStatus(pid, 'VmRSS');
    },
    stop: () => clearInterval(timer),
  };
  const sample = () =>
    procStatus(pid, 'VmRSS').then(
      (rss) => {
        sampler.samples.push({ at: Date.now(), rss });
        sampler.peakSampled = Math.max(sampler.peakSampled, rss);
      },
      () => undefined,
    );
  const timer = setInterval(sample, everyMs);
  void sample();
  return sampler;
}

export const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

export interface BenchStackOptions {
  latencyMs: number;
  /** 'in-process': the worker shares this process; 'child': `src/worker/main.ts` (what `npm run worker` runs) in its own process. */
  worker: 'in-process' | 'child';
  /** The OAuth app id the in-process worker's HubSpot settings carry (timeline templates need one). */
  appId?: number;
}

export interface BenchStack {
  sandbox: Sandbox;
  control: SandboxClient;
  temporal: Client;
  pool: pg.Pool;
  cipher: TokenCipher;
  taskQueue: string;
  log: Logger;
  /** The child worker's pid ('child' only). */
  workerPid: number | undefined;
  /** A private-app connection of `portalId` with a fresh simulator token; returns its id. */
  connect(portalId: number, config: { objectTypes: string[]; syncIntervalSeconds: number }): Promise<string>;
  close(): Promise<void>;
}

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Starts `src/worker/main.ts` under tsx, as `npm run worker` does, and resolves once it polls. */
async function startChildWorker(env: Record<string, string>): Promise<{ child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker/main.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let buffered = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line.includes('"worker running"')) resolve();
        // Warnings and errors only, once running: info lines are the worker's normal chatter.
        else if (/"level":(40|50|60)/.test(line)) console.error(`[worker] ${line}`);
      }
    });
    void exited.then((code) => reject(new Error(`worker exited with code ${code} before it was running`)));
  });
  return {
    child,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function startBenchStack(options: BenchStackOptions): Promise<BenchStack> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) throw new Error('DATABASE_URL is required');
  const log = createLogger('warn');
  const name = `hubsync_bench_${randomBytes(4).toString('hex')}`;
  await admin(adminUrl, `create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const closers: Array<() => Promise<void>> = [() => admin(adminUrl, `drop database if exists ${name} with (force)`)];
  const close = async () => {
    for (const closer of closers.reverse()) await closer();
  };
  try {
    const temporalServer = await startTemporalDevServer({ uiPort: false, namespace: 'default', log });
    closers.push(() => temporalServer.stop());
    const sandbox = createSandbox({ rateLimits: { defaultTier: 'free' } });
    sandbox.faults.set({ latencyMs: options.latencyMs, jitterMs: options.latencyMs });
    const sandboxServer = await sandbox.listen(0);
    closers.push(() => sandboxServer.close());
    await migrate(url.toString(), log);
    const pool = createPool(url.toString(), 'hubsync-bench', log);
    closers.push(() => pool.end());
    const key = randomBytes(32).toString('base64');
    const cipher = createTokenCipher([key]);
    const dataConverter = createDataConverter([key]);
    const taskQueue = `bench-${randomBytes(4).toString('hex')}`;
    let workerPid: number | undefined;
    if (options.worker === 'in-process') {
      const hubspot = { apiBaseUrl: sandboxServer.url, clientId: 'unused', clientSecret: 'unused', tokenVersion: 'v3' as const, ...(options.appId ? { appId: options.appId } : {}) };
      const worker = await startHubsyncWorker({
        address: temporalServer.address,
        namespace: 'default',
        taskQueue,
        activities: createActivities({ pool, log, cipher, hubspot, budget: createRateBudget(pool) }),
        dataConverter,
      });
      closers.push(async () => {
        worker.worker.shutdown();
        await worker.finished;
      });
    } else {
      const worker = await startChildWorker({
        TEMPORAL_ADDRESS: temporalServer.address,
        TEMPORAL_NAMESPACE: 'default',
        TEMPORAL_TASK_QUEUE: taskQueue,
        DATABASE_URL: url.toString(),
        HUBSPOT_API_BASE_URL: sandboxServer.url,
        TOKEN_ENCRYPTION_KEY: key,
        LOG_LEVEL: 'info',
      });
      workerPid = worker.child.pid;
      closers.push(() => worker.stop());
    }
    const temporal = await connectTemporalClient(temporalServer.address, 'default', dataConverter);
    closers.push(() => temporal.connection.close());
    const control = new SandboxClient(sandboxServer.url);
    return {
      sandbox,
      control,
      temporal,
      pool,
      cipher,
      taskQueue,
      log,
      workerPid,
      connect: async (portalId, config) => {
        const { token } = await control.createToken(portalId);
        const started = await startConnection({ pool, temporal, taskQueue, log, hubspot: {} }, {
          portalId, authType: 'private_app', tier: 'free', config, tokens: sealedTokens(cipher.seal(token), null, null),
        });
        return started.id;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

export interface BackfillSpan {
  objectType: string;
  startedAt: number;
  finishedAt: number;
  /** Records the backfill fetched. */
  done: number;
}

/** Waits until every listed object type of the connection reports its backfill done; its spans, from the connection's own status. */
export async function waitForBackfills(temporal: Client, connectionId: string, objectTypes: readonly string[], pollMs = 250): Promise<BackfillSpan[]> {
  const handle = temporal.workflow.getHandle(connectionWorkflowId(connectionId));
  for (;;) {
    const { objects } = await handle.query(statusQuery);
    const spans: BackfillSpan[] = [];
    for (const objectType of objectTypes) {
      const backfill = objects[objectType]?.backfill;
      if (backfill?.status !== 'done' || !backfill.startedAt || !backfill.finishedAt) break;
      spans.push({ objectType, startedAt: Date.parse(backfill.startedAt), finishedAt: Date.parse(backfill.finishedAt), done: backfill.done });
    }
    if (spans.length === objectTypes.length) return spans;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
