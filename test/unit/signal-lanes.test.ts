import { describe, expect, it } from 'vitest';
import { signalLanes } from '../../src/api/signal-lanes.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('signal lanes', () => {
  it('sends to one workflow one at a time, in order, and to different workflows at once', async () => {
    const inLane = signalLanes();
    const log: string[] = [];
    let concurrentA = 0;
    let maxConcurrentA = 0;
    const send = (workflowId: string, n: number) =>
      inLane(workflowId, async () => {
        if (workflowId === 'a') maxConcurrentA = Math.max(maxConcurrentA, ++concurrentA);
        log.push(`${workflowId}${n}:start`);
        await tick();
        if (workflowId === 'a') concurrentA--;
        return n;
      });
    const results = await Promise.all([send('a', 1), send('a', 2), send('b', 1), send('a', 3)]);
    expect(results).toEqual([1, 2, 1, 3]);
    expect(maxConcurrentA).toBe(1);
    expect(log.filter((entry) => entry.startsWith('a'))).toEqual(['a1:start', 'a2:start', 'a3:start']);
    // b did not wait for a's queue.
    expect(log.indexOf('b1:start')).toBeLessThan(log.indexOf('a2:start'));
  });

  it('keeps the lane going after a failed send, and hands the failure to its caller only', async () => {
    const inLane = signalLanes();
    const failed = inLane('a', async () => {
      throw new Error('busy');
    });
    const next = inLane('a', async () => 'sent');
    await expect(failed).rejects.toThrow('busy');
    await expect(next).resolves.toBe('sent');
  });
});
