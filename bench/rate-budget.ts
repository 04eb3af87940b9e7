// Rate budget: 1, 2 and 4 worker processes (8 concurrent callers each) share one Free/Starter
// portal budget (HubSpot: 100 per rolling 10 s; the limiter hands out 97) through PostgreSQL.
// Records permits/s, the fullest rolling 10 s window and database statements per permit.
// Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx bench/rate-budget.ts [seconds per run]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { migrate } from '../src/db/migrate.js';
import { createLogger } from '../src/logger.js';
import { maxInAnyWindow } from '../src/sandbox/rate-limits.js';
import { BUDGET_PER_S, CEILING_PER_S } from './support.js';

const HAMMER = fileURLToPath(new URL('../test/support/rate-budget-hammer.ts', import.meta.url));
const SECONDS = Number(process.argv[2] ?? 40);
const WARM_UP_MS = 5_000; // excludes the start-up burst of the first window

function hammer(env: Record<string, string>): Promise<{ permits: number[]; statements: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', HAMMER], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as { permits: number[]; statements: number }) : reject(new Error(`hammer exited ${code}`))));
  });
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(sql);
  await client.end();
}

async function main(): Promise<void> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) throw new Error('DATABASE_URL is required');
  const name = `hubsync_bench_${randomBytes(4).toString('hex')}`;
  await admin(adminUrl, `create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  try {
    await migrate(url.toString(), createLogger('silent'));
    console.log(`| processes | permits/s (steady) | of the ${BUDGET_PER_S}/s budget | of HubSpot's ${CEILING_PER_S}/s | fullest rolling 10 s | statements per permit |`);
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const [i, processes] of [1, 2, 4].entries()) {
      const start = Date.now() + 3_000;
      const stop = start + SECONDS * 1_000;
      const env = { DATABASE_URL: url.toString(), PORTAL: String(1000 + i), START_AT: String(start), STOP_AT: String(stop), TIER: 'free' };
      const results = await Promise.all(Array.from({ length: processes }, () => hammer(env)));
      const permits = results.flatMap((r) => r.permits).sort((a, b) => a - b);
      const statements = results.reduce((n, r) => n + r.statements, 0);
      const steady = permits.filter((t) => t >= start + WARM_UP_MS).length / ((stop - start - WARM_UP_MS) / 1_000);
      const pct = (x: number) => `${Math.round(x * 1000) / 10} %`;
      console.log(
        `| ${processes} | ${steady.toFixed(2)} | ${pct(steady / BUDGET_PER_S)} | ${pct(steady / CEILING_PER_S)} | ${maxInAnyWindow(permits, 10_000)} | ${(statements / permits.length).toFixed(2)} |`,
      );
    }
  } finally {
    await admin(adminUrl, `drop database if exists ${name} with (force)`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
