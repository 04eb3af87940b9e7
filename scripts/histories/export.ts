// Writes the histories of every workflow one scenario ran — the connection, its object sync and
// webhook batch children, every run of each — as files the replay test reads.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { RecordedHistory } from '../../test/replay/recordings.js';

/** Visibility lags a little behind the executions: wait until the task queue has nothing running. */
async function waitUntilAllClosed(client: Client, taskQueue: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { count } = await client.workflow.count(`TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"`);
    if (count === 0) return;
    if (Date.now() > deadline) throw new Error(`${count} workflows still running on ${taskQueue}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** `connection:<uuid>:sync:contacts:3` → `sync-contacts-3`; the connection itself → ''. */
function childLabel(workflowId: string): string {
  return workflowId.split(':').slice(2).join('-');
}

/**
 * @param suffix `<date>-<commit>`, ending every file name.
 * @returns the manifest entries of the files written, by file name.
 */
export async function exportHistories(
  client: Client,
  taskQueue: string,
  scenario: string,
  dir: string,
  suffix: string,
): Promise<Record<string, RecordedHistory>> {
  await waitUntilAllClosed(client, taskQueue);
  const executions: WorkflowExecutionInfo[] = [];
  for await (const execution of client.workflow.list({ query: `TaskQueue = "${taskQueue}"` })) executions.push(execution);
  // Runs of one workflow id in order, so continue-as-new chains read run1, run2, ...
  executions.sort((a, b) => a.workflowId.localeCompare(b.workflowId) || a.startTime.getTime() - b.startTime.getTime());

  const written: Record<string, RecordedHistory> = {};
  for (const execution of executions) {
    const runs = executions.filter((e) => e.workflowId === execution.workflowId);
    const run = runs.length > 1 ? `run${runs.indexOf(execution) + 1}` : '';
    const name = [scenario, execution.type, childLabel(execution.workflowId), run, suffix].filter(Boolean).join('-') + '.json';
    const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    writeFileSync(join(dir, name), JSON.stringify(history));
    written[name] = { scenario, workflowType: execution.type, workflowId: execution.workflowId, runId: execution.runId };
  }
  return written;
}
