// npm run histories:record — runs the scripted scenarios against the real stack and writes every
// workflow history they produced to test/replay/histories/, with a manifest naming the commit that
// recorded them. npm test replays them all: a workflow change that breaks any of them fails there.
// Needs the Temporal CLI (npm run temporal:cli); uses DATABASE_URL, or an embedded PostgreSQL.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startEmbeddedPostgres } from '../src/embedded/postgres.js';
import { startTemporalDevServer, type DevServer } from '../src/embedded/temporal-server.js';
import { createLogger } from '../src/logger.js';
import { installTemporalRuntime } from '../src/worker/runtime.js';
import { WORKFLOWS_PATH } from '../src/worker/worker.js';
import { HISTORIES_DIR, manifestFileName, RECORDING_PAYLOAD_KEY, type RecordedHistory, type RecordingManifest } from '../test/replay/recordings.js';
import { startStack } from '../test/support/stack.js';
import { exportHistories } from './histories/export.js';
import { scenarios, type Scenario } from './histories/scenarios.js';

const log = createLogger(process.env.LOG_LEVEL ?? 'warn');

/** The commit whose workflow code runs; uncommitted workflow changes are not that commit's code. */
function recordingCommit(): string {
  const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src/workflows'], { encoding: 'utf8' }).trim() !== '';
  return dirty ? `${head}+dirty` : head;
}

async function adminDatabase(): Promise<{ url: string; stop(): Promise<void> }> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: async () => {} };
  const dataDir = mkdtempSync(join(tmpdir(), 'hubsync-record-'));
  chmodSync(dataDir, 0o755); // as root, PostgreSQL runs as its own user and must enter it
  const postgres = await startEmbeddedPostgres(dataDir, log);
  return { url: postgres.url, stop: async () => (await postgres.stop(), rmSync(dataDir, { recursive: true, force: true })) };
}

async function record(scenario: Scenario, common: { temporalAddress: string; adminDatabaseUrl: string; workflowBundleCode: string }, outDir: string, suffix: string) {
  const started = Date.now();
  const stack = await startStack({ ...scenario.stack, ...common, cipherKey: RECORDING_PAYLOAD_KEY });
  try {
    await scenario.run(stack);
    const written = await exportHistories(stack.temporal, stack.taskQueue, scenario.name, outDir, suffix);
    console.log(`${scenario.name}: ${Object.keys(written).length} histories in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return written;
  } finally {
    await stack.close();
  }
}

async function main(): Promise<void> {
  installTemporalRuntime(log);
  const started = Date.now();
  const commit = recordingCommit();
  const recordedAt = new Date().toISOString();
  const suffix = `${recordedAt.slice(0, 10)}-${commit}`;
  const servers: DevServer[] = [];
  const database = await adminDatabase();
  // Written here first: a failed recording leaves test/replay/histories as it was.
  const outDir = mkdtempSync(join(tmpdir(), 'hubsync-histories-'));
  try {
    const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} } });
    const shared = await startTemporalDevServer({ uiPort: false, namespace: 'default', log });
    servers.push(shared);
    // Continue-as-new after 100 events instead of 4,096, so a small seed exercises it.
    const small = await startTemporalDevServer({ uiPort: false, namespace: 'default', log, extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=100'] });
    servers.push(small);

    const results = await Promise.allSettled(
      scenarios.map((scenario) =>
        record(scenario, { temporalAddress: (scenario.smallHistories ? small : shared).address, adminDatabaseUrl: database.url, workflowBundleCode: bundle.code }, outDir, suffix),
      ),
    );
    const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [`${scenarios[i]!.name}: ${r.reason instanceof Error ? (r.reason.stack ?? r.reason.message) : String(r.reason)}`] : []));
    if (failures.length > 0) throw new Error(`scenarios failed, nothing written:\n${failures.join('\n')}`);

    const histories: Record<string, RecordedHistory> = Object.assign({}, ...results.map((r) => (r.status === 'fulfilled' ? r.value : {})));
    const temporalSdk = (JSON.parse(readFileSync(new URL('../node_modules/@temporalio/worker/package.json', import.meta.url), 'utf8')) as { version: string }).version;
    const manifest: RecordingManifest = { recordedAt, commit, temporalSdk, histories };
    for (const file of readdirSync(outDir)) copyFileSync(join(outDir, file), join(HISTORIES_DIR, file));
    writeFileSync(join(HISTORIES_DIR, manifestFileName(suffix)), `${JSON.stringify(manifest, null, 2)}\n`);
    console.log(`${Object.keys(histories).length} histories written to ${HISTORIES_DIR} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
    for (const server of servers) await server.stop();
    await database.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
