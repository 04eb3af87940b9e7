// One worker process for the rate-budget test and bench: its own pool, `concurrency` loops taking
// permits for one portal as fast as the budget allows from START_AT until STOP_AT (epoch ms), then
// prints {"permits": [epoch ms...], "statements": n} on stdout.
// Run: DATABASE_URL=... PORTAL=1 START_AT=... STOP_AT=... node --import tsx test/support/rate-budget-hammer.ts
import pg from 'pg';
import { createRateBudget, type Priority, type Tier } from '../../src/hubspot/rate-budget.js';

const env = (name: string, fallback?: string): string => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};

async function main(): Promise<void> {
  const pool = new pg.Pool({ connectionString: env('DATABASE_URL'), max: 4, application_name: 'rate-budget-hammer' });
  let statements = 0;
  // Counts round trips: every limiter call goes through pool.query.
  const counted = new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop !== 'query') return Reflect.get(target, prop, receiver);
      return (...args: Parameters<pg.Pool['query']>) => {
        statements++;
        return (target.query as (...a: unknown[]) => unknown)(...args);
      };
    },
  });
  const budget = createRateBudget(counted);
  const key = { portalId: Number(env('PORTAL')) };
  const opts = { kind: 'general' as const, priority: env('PRIORITY', 'backfill') as Priority, tier: env('TIER', 'free') as Tier, maxWaitMs: 60_000 };
  const startAt = Number(env('START_AT'));
  const stopAt = Number(env('STOP_AT'));
  const permits: number[] = [];

  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
  statements = 0;
  const signal = AbortSignal.timeout(stopAt - Date.now());
  const loop = async () => {
    while (!signal.aborted) {
      try {
        await budget.acquire(key, { ...opts, signal });
      } catch (error) {
        if (signal.aborted) return;
        throw error;
      }
      permits.push(Date.now());
    }
  };
  await Promise.all(Array.from({ length: Number(env('CONCURRENCY', '8')) }, loop));
  process.stdout.write(JSON.stringify({ permits, statements }));
  await pool.end();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
