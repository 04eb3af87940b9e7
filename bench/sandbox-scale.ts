// Simulator scale: seed 1,000,000 contacts, then time list and search pages over real HTTP at the
// start, middle and end of the data, and record seed time and memory.
// Run: node --expose-gc --max-old-space-size=4096 --import tsx bench/sandbox-scale.ts [contacts]
import { createSandbox } from '../src/sandbox/server.js';
import { seedPortal } from '../src/sandbox/seed.js';

const CONTACTS = Number(process.argv[2] ?? 1_000_000);
const RUNS = 30;
const mb = (n: number) => Math.round(n / 1024 / 1024);

async function main(): Promise<void> {
  const sandbox = createSandbox({ rateLimits: { enabled: false } });
  const server = await sandbox.listen(0);
  const portal = sandbox.store.createPortal({ portalId: 900001 });
  sandbox.tokens.addStaticToken('bench-token', 900001);
  const headers = { authorization: 'Bearer bench-token', 'content-type': 'application/json' };

  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage();
  const t0 = performance.now();
  seedPortal(sandbox.store, portal, { seed: 1, contacts: CONTACTS });
  const seedMs = performance.now() - t0;
  gc?.();
  const after = process.memoryUsage();

  const table = sandbox.store.table(portal, 'contacts');
  const at = (pos: number) => table.byModified.from(pos).next().value!;
  const positions = { start: 0, middle: Math.floor(CONTACTS / 2), end: CONTACTS - 300 };

  /** Median and p95 of RUNS timed requests (after one warm-up). */
  const time = async (call: () => Promise<Response>) => {
    const samples: number[] = [];
    for (let i = 0; i <= RUNS; i++) {
      const s = performance.now();
      const res = await call();
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`bench request failed: ${res.status}`);
      if (i > 0) samples.push(performance.now() - s);
    }
    samples.sort((a, b) => a - b);
    return { medianMs: round(samples[Math.floor(RUNS / 2)]!), p95Ms: round(samples[Math.floor(RUNS * 0.95)]!) };
  };
  const list = (afterId: number) => () => fetch(`${server.url}/crm/v3/objects/contacts?limit=100&after=${afterId}&properties=email,firstname`, { headers });
  const search = (body: object) => () => fetch(`${server.url}/crm/v3/objects/contacts/search`, { method: 'POST', headers, body: JSON.stringify(body) });
  const incremental = (since: number) =>
    search({ filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: String(since) }] }], sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }], limit: 200 });

  const rows: Record<string, unknown>[] = [];
  for (const [where, pos] of Object.entries(positions)) {
    const rec = at(pos);
    rows.push({ where, list: await time(list(table.active.from(pos).next().value!.id)), search: await time(incremental(rec.updatedAt)) });
  }

  // A bulk edit gives 20,000 records one timestamp; the (time, id) tie-break query must stay O(page).
  const t1 = performance.now();
  const records = [...take(table.active.from(positions.middle), 20_000)];
  const stamp = sandbox.store.bulkUpdate(portal, table, records, { lifecyclestage: 'customer' }, { source: 'CRM_UI' });
  const bulkMs = performance.now() - t1;
  const tieBreak = await time(
    search({
      filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'EQ', value: String(stamp) }, { propertyName: 'hs_object_id', operator: 'GT', value: String(records[10_000]!.id) }] }],
      sorts: [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }],
      limit: 200,
    }),
  );

  // The (time, id) cursor as one OR query: (t > T) OR (t = T AND id > I), served as a union of index ranges.
  const cursor = at(positions.middle);
  const orCursor = await time(
    search({
      filterGroups: [
        { filters: [{ propertyName: 'lastmodifieddate', operator: 'GT', value: String(cursor.updatedAt) }] },
        { filters: [{ propertyName: 'lastmodifieddate', operator: 'EQ', value: String(cursor.updatedAt) }, { propertyName: 'hs_object_id', operator: 'GT', value: String(cursor.id) }] },
      ],
      sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }],
      limit: 200,
    }),
  );

  const result = {
    contacts: CONTACTS,
    node: process.version,
    seedSeconds: round(seedMs / 1000),
    heapUsedMB: mb(after.heapUsed - before.heapUsed),
    rssMB: mb(after.rss),
    pages: rows,
    bulkEdit20kMs: round(bulkMs),
    tieBreakSearch: tieBreak,
    orCursorSearch: orCursor,
  };
  console.log(JSON.stringify(result, null, 2));
  await server.close();
}

function* take<T>(it: Iterable<T>, n: number): Generator<T> {
  let i = 0;
  for (const x of it) {
    if (i++ >= n) return;
    yield x;
  }
}

const round = (n: number) => Math.round(n * 10) / 10;

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
