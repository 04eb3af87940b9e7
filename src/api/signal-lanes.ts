/**
 * Sends to one workflow one at a time (from this process), in arrival order. Temporal serialises
 * the updates of a single execution; concurrent signals to it (HubSpot sends up to 10 requests
 * at once, mostly for the same portal) get "busy workflow" answers that the client retries only
 * after a second or more — a long tail that queueing here avoids.
 */
export type SignalLanes = <T>(workflowId: string, send: () => Promise<T>) => Promise<T>;

export function signalLanes(): SignalLanes {
  const tails = new Map<string, Promise<unknown>>();
  return (workflowId, send) => {
    const sent = (tails.get(workflowId) ?? Promise.resolve()).then(send);
    // The next send waits for this one to settle, whatever its outcome.
    const tail = sent.catch(() => undefined);
    tails.set(workflowId, tail);
    void tail.then(() => {
      if (tails.get(workflowId) === tail) tails.delete(workflowId);
    });
    return sent;
  };
}
