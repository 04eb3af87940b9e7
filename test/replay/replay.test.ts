// Every recorded history (npm run histories:record) replays against today's workflow code without
// a server: a change that would break workflows already running fails here, before it lands. One
// test per history file; and one proof that the check catches an incompatible change.
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, Worker, type ReplayResult, type ReplayWorkerOptions } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createDataConverter } from '../../src/temporal/data-converter.js';
import { loadRecordedHistories, RECORDING_PAYLOAD_KEY, type HistoryFile } from './recordings.js';

const histories = loadRecordedHistories();
const quietBundler = { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} };

function replayOptions(code: string): ReplayWorkerOptions {
  return { workflowBundle: { code }, dataConverter: createDataConverter([RECORDING_PAYLOAD_KEY]), replayName: 'hubsync-replay' };
}

/** One replay worker for all files (one per file would cost seconds each); results in file order. */
async function replayAll(code: string, files: HistoryFile[]): Promise<Map<string, ReplayResult>> {
  const results = new Map<string, ReplayResult>();
  let index = 0;
  for await (const result of Worker.runReplayHistories(replayOptions(code), files.map(({ workflowId, history }) => ({ workflowId, history })))) {
    results.set(files[index++]!.file, result);
  }
  return results;
}

describe('recorded workflow histories', () => {
  let results: Map<string, ReplayResult>;
  beforeAll(async () => {
    results = await replayAll(inject('workflowBundleCode'), histories);
  });

  it('cover the connection workflow, both kinds of child and the engagement push', () => {
    expect(new Set(histories.map((h) => h.workflowType))).toEqual(new Set(['connectionWorkflow', 'objectSyncWorkflow', 'webhookBatchWorkflow', 'engagementPushWorkflow']));
  });

  it.each(histories.map((h) => h.file))('%s replays deterministically', (file) => {
    const result = results.get(file);
    expect(result, 'replayed').toBeDefined();
    expect(result!.error?.message).toBeUndefined();
  });
});

describe('the replay check', () => {
  it('rejects a connection workflow that schedules a timer its histories never had', async () => {
    const changed = await bundleWorkflowCode({ workflowsPath: fileURLToPath(new URL('./fixtures/changed-workflows.ts', import.meta.url)), logger: quietBundler });
    const connection = histories.find((h) => h.workflowType === 'connectionWorkflow');
    expect(connection, 'a recorded connection history').toBeDefined();
    await expect(Worker.runReplayHistory(replayOptions(changed.code), connection!.history, connection!.workflowId)).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});
