// Full backfill at the Free/Starter limit (issue 4): contacts, companies and deals with their
// associations, one connection, the real worker (`src/worker/main.ts`, what `npm run worker`
// runs, in a child process), a Temporal dev server and PostgreSQL against the simulator with its
// rate limits on and 50–100 ms of latency per request.
//
// The ceiling: HubSpot allows 100 general requests per rolling 10 s; a backfill page is one list
// request for 100 records plus one v4 association batch read per mirrored association type
// (contacts → companies; companies none, their links are mirrored from the contact and deal
// sides; deals → contacts, deals → companies). The fewest requests the data needs is therefore
// Σ pages × (1 + association types), and the ceiling is 10 requests/s × records / that number.
// Requests are counted by the simulator; the worker's memory is read from /proc every second.
// Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx bench/backfill-full.ts [contacts] [companies] [deals] [latencyMs]
import { associatedTypes } from '../src/hubspot/associations.js';
import { LIST_PAGE_SIZE } from '../src/hubspot/crm.js';
import { maxInAnyWindow } from '../src/sandbox/rate-limits.js';
import { BUDGET_PER_S, BUDGET_SHARE, CEILING_PER_S, mb, pct, sampleRss, startBenchStack, waitForBackfills } from './support.js';

const COUNTS = {
  contacts: Number(process.argv[2] ?? 100_000),
  companies: Number(process.argv[3] ?? 20_000),
  deals: Number(process.argv[4] ?? 10_000),
};
const LATENCY_MS = Number(process.argv[5] ?? 50);
const OBJECT_TYPES = Object.keys(COUNTS) as Array<keyof typeof COUNTS>;
const PORTAL_ID = 940_000;

/** The fewest general requests a backfill of `records` of this type can take. */
const minimalRequests = (objectType: string, records: number) => Math.max(1, Math.ceil(records / LIST_PAGE_SIZE)) * (1 + associatedTypes(objectType).length);

function diffCounts(after: Record<string, number>, before: Record<string, number>): Array<[string, number]> {
  return Object.entries(after)
    .map(([key, n]): [string, number] => [key, n - (before[key] ?? 0)])
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
}

async function main(): Promise<void> {
  const stack = await startBenchStack({ latencyMs: LATENCY_MS, worker: 'child' });
  const { sandbox, control, temporal, pool } = stack;
  const rss = sampleRss(stack.workerPid!);
  try {
    await control.createPortal({ portalId: PORTAL_ID, tier: 'free' });
    const seeded = await control.seed(PORTAL_ID, { seed: 1, ...COUNTS, tickets: 0 });
    // Start-up (migrations, bundling the workflow code) has its own peak: measure the backfill's apart.
    const startupPeak = await rss.highWaterMark();
    const idleRss = await rss.current();
    await rss.resetPeaks();
    const byRouteBefore = { ...sandbox.counters.byRoute };
    const searchBefore = sandbox.rateLimiter.requestLog(`search:${PORTAL_ID}`).length;
    console.log(
      `${COUNTS.contacts.toLocaleString('en')} contacts + ${COUNTS.companies.toLocaleString('en')} companies + ${COUNTS.deals.toLocaleString('en')} deals ` +
        `(${seeded.associations.toLocaleString('en')} associations, seeded in ${seeded.ms} ms), one connection, ${LATENCY_MS}–${2 * LATENCY_MS} ms latency per request\n`,
    );

    const id = await stack.connect(PORTAL_ID, { objectTypes: OBJECT_TYPES, syncIntervalSeconds: 3600 });
    const spans = await waitForBackfills(temporal, id, OBJECT_TYPES, 1000);
    const endRss = await rss.current();
    rss.stop();
    const highWater = await rss.highWaterMark();

    const from = Math.min(...spans.map((s) => s.startedAt));
    const to = Math.max(...spans.map((s) => s.finishedAt));
    const seconds = (to - from) / 1000;
    const generalLog = sandbox.rateLimiter.requestLog(`crm:${PORTAL_ID}`);
    const general = generalLog.filter((t) => t >= from && t <= to);
    const search = sandbox.rateLimiter.requestLog(`search:${PORTAL_ID}`).length - searchBefore;
    const records = spans.reduce((n, s) => n + s.done, 0);
    const minimal = OBJECT_TYPES.reduce((n, type) => n + minimalRequests(type, COUNTS[type]), 0);
    const ceiling = (CEILING_PER_S * records) / minimal;
    const recordsPerS = records / seconds;
    const rejected = Object.values(sandbox.rateLimiter.portalStats(PORTAL_ID).rejected).reduce((a, b) => a + b, 0);

    console.log('| object type | records | pages | requests per page (list + association reads) | backfill seconds |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const span of spans) {
      const pages = Math.ceil(span.done / LIST_PAGE_SIZE);
      console.log(`| ${span.objectType} | ${span.done.toLocaleString('en')} | ${pages.toLocaleString('en')} | ${1 + associatedTypes(span.objectType).length} | ${((span.finishedAt - span.startedAt) / 1000).toFixed(1)} |`);
    }

    console.log('\n| measure | value |\n| --- | --- |');
    const row = (measure: string, value: string) => console.log(`| ${measure} | ${value} |`);
    row('records', records.toLocaleString('en'));
    row('seconds (first backfill start → last backfill end)', seconds.toFixed(1));
    row('records/s', recordsPerS.toFixed(1));
    row('fewest general requests the data needs', `${minimal.toLocaleString('en')} (${(minimal / records).toFixed(4)} per record)`);
    row(`ceiling: ${CEILING_PER_S} requests/s × records per request`, `${ceiling.toFixed(1)} records/s (${(records / ceiling).toFixed(1)} s)`);
    row('**of the ceiling**', `**${pct(recordsPerS / ceiling)}**`);
    row(`of the limiter's ${BUDGET_SHARE} budget (${BUDGET_PER_S} requests/s)`, pct(recordsPerS / ((ceiling * BUDGET_PER_S) / CEILING_PER_S)));
    row('general requests during the backfill (simulator)', `${general.length.toLocaleString('en')} (${(general.length / records).toFixed(4)} per record, ${(general.length / seconds).toFixed(2)}/s)`);
    row('general requests, whole run (set-up, discovery, sweeps)', `${generalLog.length.toLocaleString('en')} (${(generalLog.length / records).toFixed(4)} per record)`);
    row('search requests (own budget: counts and window ends)', String(search));
    row('fullest rolling 10 s (general)', String(maxInAnyWindow(general, 10_000)));
    // All types share the budget until the first finishes; the last one alone is one sequential page loop.
    const finishes = spans.map((s) => s.finishedAt).sort((a, b) => a - b);
    const rate = (a: number, b: number) => (general.filter((t) => t >= a && t <= b).length / ((b - a) / 1000)).toFixed(2);
    row('general requests/s while all types ran / while only the last one ran', `${rate(from, finishes[0]!)} / ${rate(finishes.at(-2)!, to)}`);
    row('429s', String(rejected));
    row('**worker peak RSS during the backfill (VmHWM)**', `**${mb(highWater)}**`);
    row('worker RSS: start-up peak (VmHWM) / idle before the backfill / peak sampled each second / at the end', `${mb(startupPeak)} / ${mb(idleRss)} / ${mb(rss.peakSampled)} / ${mb(endRss)}`);

    const mirrored = await pool.query<{ object_type: string; n: string }>(`select object_type, count(*) as n from crm_objects where connection_id = $1 group by 1 order by 1`, [id]);
    const links = await pool.query<{ n: string }>(`select count(*) as n from crm_associations where connection_id = $1`, [id]);
    const minute = rss.samples.filter((s) => s.at >= from && s.at <= to).filter((_, i) => i % 60 === 0);
    row('worker RSS each minute of the backfill', minute.map((s) => mb(s.rss)).join(', '));
    row('mirrored rows', mirrored.rows.map((r) => `${r.object_type} ${Number(r.n).toLocaleString('en')}`).join(', '));
    row('association rows mirrored, one per type id (links seeded; a primary link is also unlabeled)', `${Number(links.rows[0]!.n).toLocaleString('en')} (${seeded.associations.toLocaleString('en')})`);

    console.log('\nRequests by route, whole run:\n');
    console.log('| route | requests |\n| --- | --- |');
    for (const [route, n] of diffCounts(sandbox.counters.byRoute, byRouteBefore)) console.log(`| \`${route}\` | ${n.toLocaleString('en')} |`);
  } finally {
    rss.stop();
    await stack.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
