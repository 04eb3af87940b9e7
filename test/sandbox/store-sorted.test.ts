// The chunked sorted list behind the store's indexes agrees with a plain sorted array.
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/sandbox/seed.js';
import { SortedList } from '../../src/sandbox/store-sorted.js';

describe('SortedList', () => {
  it('matches a sorted array through 20,000 random inserts and removes, across chunk splits', () => {
    const rnd = mulberry32(5);
    const list = new SortedList<number>((a, b) => a - b);
    const model: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      if (model.length > 0 && rnd() < 0.35) {
        const v = model[Math.floor(rnd() * model.length)]!;
        expect(list.remove(v)).toBe(true);
        model.splice(model.indexOf(v), 1);
      } else {
        const v = Math.floor(rnd() * 5_000);
        list.insert(v);
        model.push(v);
      }
    }
    model.sort((a, b) => a - b);
    expect(list.size).toBe(model.length);
    expect([...list]).toEqual(model);
    expect(list.remove(-1)).toBe(false);
    for (const probe of [0, 1234, 4999, 6000]) {
      expect(list.rank((x) => x - probe)).toBe(model.filter((x) => x < probe).length);
    }
    const start = Math.floor(model.length / 3);
    expect([...take(list.from(start), 50)]).toEqual(model.slice(start, start + 50));
    expect([...take(list.from(start, true), 50)]).toEqual(model.slice(Math.max(0, start - 49), start + 1).reverse());
  });
});

function* take<T>(it: Iterable<T>, n: number): Generator<T> {
  let i = 0;
  for (const x of it) {
    if (i++ >= n) return;
    yield x;
  }
}
