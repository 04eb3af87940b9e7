// Backfill at the Free/Starter limit: the real worker, Temporal dev server and PostgreSQL against
// the simulator with its rate limits on and 50–100 ms of latency per request. One connection, then
// four connections of one portal sharing its budget, each backfilling N contacts. Records/s as a
// fraction of the ceiling (HubSpot's 100 requests per 10 s × the records each request carried),
// the requests the simulator logged, the fullest rolling 10 s and the 429s received.
// Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx bench/backfill-throughput.ts [contacts] [latencyMs]
// bench/backfill-full.ts does contacts, companies and deals with the worker's memory.
import { maxInAnyWindow } from '../src/sandbox/rate-limits.js';
import { BUDGET_PER_S, BUDGET_SHARE, CEILING_PER_S, pct, startBenchStack, waitForBackfills } from './support.js';

const CONTACTS = Number(process.argv[2] ?? 10_000);
const LATENCY_MS = Number(process.argv[3] ?? 50);

async function main(): Promise<void> {
  const stack = await startBenchStack({ latencyMs: LATENCY_MS, worker: 'in-process' });
  const { sandbox, control, temporal } = stack;
  try {
    console.log(`${CONTACTS.toLocaleString('en')} contacts per connection, ${LATENCY_MS}–${2 * LATENCY_MS} ms latency per request\n`);
    console.log(`| connections | records | seconds | records/s | requests (general) | records per request | of the ceiling | of the ${BUDGET_SHARE} budget | fullest rolling 10 s | 429s |`);
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const [i, connections] of [1, 4].entries()) {
      const portalId = 930_000 + i;
      await control.createPortal({ portalId, tier: 'free' });
      await control.seed(portalId, { seed: 1, contacts: CONTACTS });
      const ids: string[] = [];
      for (let c = 0; c < connections; c++) ids.push(await stack.connect(portalId, { objectTypes: ['contacts'], syncIntervalSeconds: 3600 }));
      // Backfill spans, from the connections' own status.
      const spans = [];
      for (const id of ids) spans.push(...(await waitForBackfills(temporal, id, ['contacts'])));
      const from = Math.min(...spans.map((s) => s.startedAt));
      const to = Math.max(...spans.map((s) => s.finishedAt));
      const seconds = (to - from) / 1000;
      const general = sandbox.rateLimiter.requestLog(`crm:${portalId}`).filter((t) => t >= from && t <= to);
      const records = CONTACTS * connections;
      const perRequest = records / general.length;
      const recordsPerS = records / seconds;
      const rejected = Object.values(sandbox.rateLimiter.portalStats(portalId).rejected).reduce((a, b) => a + b, 0);
      console.log(
        `| ${connections} | ${records.toLocaleString('en')} | ${seconds.toFixed(1)} | ${recordsPerS.toFixed(1)} | ${general.length} | ${perRequest.toFixed(1)} | ${pct(recordsPerS / (CEILING_PER_S * perRequest))} | ${pct(recordsPerS / (BUDGET_PER_S * perRequest))} | ${maxInAnyWindow(general, 10_000)} | ${rejected} |`,
      );
    }
  } finally {
    await stack.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
