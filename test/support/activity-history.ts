// Activity executions read from a workflow's history, for assertions on retry timing. Temporal
// writes one ActivityTaskStarted per execution, for its last attempt (stamped when that attempt
// started, carrying the attempt number and the previous attempt's failure), so the gap from
// scheduling to that start is the sum of every retry delay the server applied.
import type { Client, WorkflowHandle } from '@temporalio/client';

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];
type Timestamp = HistoryEvent['eventTime'];
type Failure = NonNullable<HistoryEvent['activityTaskFailedEventAttributes']>['failure'];

export interface ActivityExecution {
  activityType: string;
  scheduledMs: number;
  /** Start of the last attempt. */
  startedMs: number;
  attempt: number;
  /** The worker that ran the last attempt (`pid@host`). */
  identity: string;
  /** The failure that made the server schedule the last attempt (attempt > 1). */
  lastFailure?: { type: string; message: string };
  outcome: 'completed' | 'failed' | 'other';
  /** The final failure, when the execution failed. */
  failure?: { type: string; message: string };
}

const ms = (ts: Timestamp): number => Number(ts?.seconds?.toString() ?? 0) * 1000 + Math.floor((ts?.nanos ?? 0) / 1e6);

const describe = (f: Failure) => (f ? { type: f.applicationFailureInfo?.type ?? '', message: f.message ?? '' } : undefined);

export async function activityExecutions(client: Client, workflowId: string): Promise<ActivityExecution[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const byScheduled = new Map<string, ActivityExecution>();
  for (const event of history.events ?? []) {
    const id = event.eventId?.toString() ?? '';
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      byScheduled.set(id, { activityType: scheduled.activityType?.name ?? '', scheduledMs: ms(event.eventTime), startedMs: 0, attempt: 0, identity: '', outcome: 'other' });
    }
    const started = event.activityTaskStartedEventAttributes;
    const execution = started && byScheduled.get(started.scheduledEventId?.toString() ?? '');
    if (started && execution) {
      Object.assign(execution, { startedMs: ms(event.eventTime), attempt: started.attempt ?? 0, identity: started.identity ?? '' });
      const last = describe(started.lastFailure);
      if (last) execution.lastFailure = last;
    }
    const completed = event.activityTaskCompletedEventAttributes;
    if (completed) {
      const e = byScheduled.get(completed.scheduledEventId?.toString() ?? '');
      if (e) e.outcome = 'completed';
    }
    const failed = event.activityTaskFailedEventAttributes;
    if (failed) {
      const e = byScheduled.get(failed.scheduledEventId?.toString() ?? '');
      if (e) {
        e.outcome = 'failed';
        const f = describe(failed.failure);
        if (f) e.failure = f;
      }
    }
  }
  return [...byScheduled.values()];
}
