// The list read-ahead on its own: a page started is taken once, a page nobody asked for is not
// invented, and stale, failed or surplus reads are misses rather than answers.
import { describe, expect, it } from 'vitest';
import { createListPrefetch, listPageKey } from '../../src/activities/list-prefetch.js';
import type { Page } from '../../src/hubspot/crm.js';

const page = (after?: string): Page => ({ records: [], after });

describe('list prefetch', () => {
  it('hands a started read to the first taker only', async () => {
    const prefetch = createListPrefetch();
    let reads = 0;
    prefetch.start('k', async () => {
      reads++;
      return page('next');
    });
    prefetch.start('k', async () => {
      reads++;
      return page('other');
    });
    expect(await prefetch.take('k')).toEqual(page('next'));
    expect(await prefetch.take('k')).toBeUndefined();
    expect(await prefetch.take('unknown')).toBeUndefined();
    expect(reads).toBe(1);
  });

  it('waits for a read still in flight', async () => {
    const prefetch = createListPrefetch();
    let finish!: (p: Page) => void;
    prefetch.start('k', () => new Promise<Page>((resolve) => (finish = resolve)));
    const taken = prefetch.take('k');
    finish(page('later'));
    expect(await taken).toEqual(page('later'));
  });

  it('treats a failed read as a miss', async () => {
    const prefetch = createListPrefetch();
    prefetch.start('k', async () => {
      throw new Error('429');
    });
    expect(await prefetch.take('k')).toBeUndefined();
  });

  it('drops reads older than maxAgeMs', async () => {
    let now = 0;
    const prefetch = createListPrefetch({ maxAgeMs: 1_000, now: () => now });
    prefetch.start('old', async () => page('a'));
    now = 1_001;
    expect(await prefetch.take('old')).toBeUndefined();
  });

  it('holds at most maxEntries reads, dropping the oldest', async () => {
    const prefetch = createListPrefetch({ maxEntries: 2 });
    for (const key of ['a', 'b', 'c']) prefetch.start(key, async () => page(key));
    expect(await prefetch.take('a')).toBeUndefined();
    expect(await prefetch.take('b')).toEqual(page('b'));
    expect(await prefetch.take('c')).toEqual(page('c'));
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
