// The backfill read-ahead on its own: a read started is taken once, a page nobody asked for is not
// invented, and stale, failed or surplus reads are misses rather than answers.
import { describe, expect, it } from 'vitest';
import { createReadAhead, listPageKey } from '../../src/activities/read-ahead.js';
import type { Page } from '../../src/hubspot/crm.js';

const page = (after?: string): Page => ({ records: [], after });

describe('read-ahead', () => {
  it('hands a started read to the first taker only', async () => {
    const readAhead = createReadAhead<Page>();
    let reads = 0;
    readAhead.start('k', async () => {
      reads++;
      return page('next');
    });
    readAhead.start('k', async () => {
      reads++;
      return page('other');
    });
    expect(await readAhead.take('k')).toEqual(page('next'));
    expect(await readAhead.take('k')).toBeUndefined();
    expect(await readAhead.take('unknown')).toBeUndefined();
    expect(reads).toBe(1);
  });

  it('waits for a read still in flight', async () => {
    const readAhead = createReadAhead<Page>();
    let finish!: (p: Page) => void;
    readAhead.start('k', () => new Promise<Page>((resolve) => (finish = resolve)));
    const taken = readAhead.take('k');
    finish(page('later'));
    expect(await taken).toEqual(page('later'));
  });

  it('treats a failed read as a miss', async () => {
    const readAhead = createReadAhead<Page>();
    readAhead.start('k', async () => {
      throw new Error('429');
    });
    expect(await readAhead.take('k')).toBeUndefined();
  });

  it('drops reads older than maxAgeMs', async () => {
    let now = 0;
    const readAhead = createReadAhead<Page>({ maxAgeMs: 1_000, now: () => now });
    readAhead.start('old', async () => page('a'));
    now = 1_001;
    expect(await readAhead.take('old')).toBeUndefined();
  });

  it('holds at most maxEntries reads, dropping the oldest', async () => {
    const readAhead = createReadAhead<Page>({ maxEntries: 2 });
    for (const key of ['a', 'b', 'c']) readAhead.start(key, async () => page(key));
    expect(await readAhead.take('a')).toBeUndefined();
    expect(await readAhead.take('b')).toEqual(page('b'));
    expect(await readAhead.take('c')).toEqual(page('c'));
  });

  it('keys pages by connection, type, cursor, archived and properties', () => {
    const base = listPageKey('c1', 'contacts', ['email'], '100', false);
    expect(listPageKey('c1', 'contacts', ['email'], '100', false)).toBe(base);
    for (const other of [
      listPageKey('c2', 'contacts', ['email'], '100', false),
      listPageKey('c1', 'companies', ['email'], '100', false),
      listPageKey('c1', 'contacts', ['email', 'phone'], '100', false),
      listPageKey('c1', 'contacts', ['email'], '200', false),
      listPageKey('c1', 'contacts', ['email'], '100', true),
    ]) {
      expect(other).not.toBe(base);
    }
  });
});
