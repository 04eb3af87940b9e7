// Control updates reach long-lived workflows that continue-as-new: an update the server did not
// apply is sent again with the same id; one the workflow refused is not.
import { ServiceError, WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { executeUpdateAcrossRuns } from '../../src/temporal/updates.js';

type Call = { name: string; options: { args?: unknown[]; updateId?: string } };

/** A handle whose executeUpdate answers with each outcome in turn (an Error is thrown). */
function scriptedHandle(outcomes: unknown[]): { handle: WorkflowHandle; calls: Call[] } {
  const calls: Call[] = [];
  const handle = {
    executeUpdate: async (name: string, options: Call['options']) => {
      calls.push({ name, options });
      const outcome = outcomes.shift();
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
  } as unknown as WorkflowHandle;
  return { handle, calls };
}

const grpcError = (code: number, details: string) => Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
/** What the server answers when the workflow task carrying the update was refused (UnhandledCommand). */
const taskFailed = () => new ServiceError('Workflow Update failed', { cause: grpcError(9, 'Unable to perform workflow execution update due to unexpected workflow task failure.') });

describe('executeUpdateAcrossRuns', () => {
  it('sends an update again, with the same update id, when its workflow task was refused or its run had closed', async () => {
    const { handle, calls } = scriptedHandle([taskFailed(), new WorkflowNotFoundError('workflow execution already completed', 'w', undefined), { status: 'paused' }]);
    await expect(executeUpdateAcrossRuns(handle, 'pause')).resolves.toEqual({ status: 'paused' });
    expect(calls).toHaveLength(3);
    const ids = new Set(calls.map((c) => c.options.updateId));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('passes the argument on every attempt', async () => {
    const { handle, calls } = scriptedHandle([taskFailed(), { ok: true }]);
    await executeUpdateAcrossRuns(handle, 'resync', { objectType: 'contacts' });
    expect(calls.map((c) => c.options.args)).toEqual([[{ objectType: 'contacts' }], [{ objectType: 'contacts' }]]);
  });

  it('does not repeat an update the workflow rejected, nor other server errors', async () => {
    const rejected = new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.create({ message: 'connection is stopped', nonRetryable: true }));
    const first = scriptedHandle([rejected]);
    await expect(executeUpdateAcrossRuns(first.handle, 'pause')).rejects.toBe(rejected);
    expect(first.calls).toHaveLength(1);

    const unavailable = new ServiceError('Workflow Update failed', { cause: grpcError(14, 'unavailable') });
    const second = scriptedHandle([unavailable]);
    await expect(executeUpdateAcrossRuns(second.handle, 'pause')).rejects.toBe(unavailable);
    expect(second.calls).toHaveLength(1);
  });

  it('gives up after a few attempts', async () => {
    const { handle, calls } = scriptedHandle(Array.from({ length: 10 }, taskFailed));
    await expect(executeUpdateAcrossRuns(handle, 'pause')).rejects.toBeInstanceOf(ServiceError);
    expect(calls).toHaveLength(5);
  });
});
