// Promise 1 checks: where a secret could surface (API answers, log lines, workflow histories),
// gathered as text to search.
import type { Stack } from './stack.js';
import { decodedHistoryText } from './payloads.js';

export interface AnswerRecorder {
  /** Every body the stack's API answered to this process since `recordApiAnswers`, errors included. */
  answers: string[];
  stop(): void;
}

/**
 * Records the API's answers by wrapping the global fetch, so `stack.api`, the OAuth helpers and
 * plain fetches are all seen. Only answers from the stack's API: its own calls to the HubSpot
 * simulator share this process and its fetch, and are not answers to anyone.
 */
export function recordApiAnswers(stack: Stack): AnswerRecorder {
  const original = globalThis.fetch;
  const answers: string[] = [];
  globalThis.fetch = async (input, init) => {
    const response = await original(input, init);
    const url = input instanceof Request ? input.url : String(input);
    if (url.startsWith(stack.apiUrl)) {
      answers.push(`${response.status} ${response.headers.get('location') ?? ''} ${await response.clone().text()}`);
    }
    return response;
  };
  return {
    answers,
    stop: () => {
      globalThis.fetch = original;
    },
  };
}

/** Every workflow history on the stack's task queue (connections, their children, pushes), each payload decoded. */
export async function decodedHistoriesOfStack(stack: Stack): Promise<{ workflowId: string; text: string }[]> {
  const histories: { workflowId: string; text: string }[] = [];
  for await (const execution of stack.temporal.workflow.list({ query: `TaskQueue = "${stack.taskQueue}"` })) {
    const history = await stack.temporal.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    histories.push({ workflowId: execution.workflowId, text: await decodedHistoryText(stack.temporal, history) });
  }
  return histories;
}

/**
 * The forms a configured secret could leak in: as configured, base64-encoded (a plain payload's
 * data), and a base64 key's bytes as hex and base64url.
 */
export function secretForms(secret: string): string[] {
  const forms = [secret, Buffer.from(secret).toString('base64').slice(0, 24)];
  const bytes = Buffer.from(secret, 'base64');
  if (bytes.length === 32 && bytes.toString('base64') === secret) forms.push(bytes.toString('hex'), bytes.toString('base64url'));
  return forms;
}
