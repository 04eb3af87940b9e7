// An ordered collection split into chunks, so that insert, remove and positional access stay
// cheap at a million entries (O(√n) instead of the O(n) memmove of one big array).

const MAX_CHUNK = 1024;

/** Negative when `item` sorts before the probe's target, 0 when equal, positive after. */
export type Probe<T> = (item: T) => number;

export class SortedList<T> {
  private chunks: T[][] = [];
  private count = 0;

  constructor(private readonly compare: (a: T, b: T) => number) {}

  get size(): number {
    return this.count;
  }

  insert(item: T): void {
    if (this.chunks.length === 0) {
      this.chunks.push([item]);
      this.count = 1;
      return;
    }
    const c = this.chunkFor((x) => this.compare(x, item));
    const chunk = this.chunks[c]!;
    chunk.splice(lowerBound(chunk, (x) => this.compare(x, item)), 0, item);
    this.count++;
    if (chunk.length > MAX_CHUNK) this.chunks.splice(c + 1, 0, chunk.splice(MAX_CHUNK >> 1));
  }

  /** Removes the entry equal to `item` under the comparator; the caller must not have mutated its sort key since insertion. */
  remove(item: T): boolean {
    const probe: Probe<T> = (x) => this.compare(x, item);
    const c = this.chunkFor(probe);
    const chunk = this.chunks[c];
    if (!chunk) return false;
    const i = lowerBound(chunk, probe);
    if (i >= chunk.length || this.compare(chunk[i]!, item) !== 0) return false;
    chunk.splice(i, 1);
    this.count--;
    if (chunk.length === 0) this.chunks.splice(c, 1);
    return true;
  }

  /** Number of entries sorting before the probe's target: the position of its lower bound. */
  rank(probe: Probe<T>): number {
    const c = this.chunkFor(probe);
    let before = 0;
    for (let k = 0; k < c && k < this.chunks.length; k++) before += this.chunks[k]!.length;
    const chunk = this.chunks[c];
    return chunk ? before + lowerBound(chunk, probe) : before;
  }

  /** Entries from absolute position `start` onwards (or backwards when `reverse`). */
  *from(start: number, reverse = false): Generator<T> {
    if (start < 0 || start >= this.count) return;
    let c = 0;
    let offset = start;
    while (offset >= this.chunks[c]!.length) offset -= this.chunks[c++]!.length;
    if (reverse) {
      for (; c >= 0; c--) {
        const chunk = this.chunks[c]!;
        for (let i = Math.min(offset, chunk.length - 1); i >= 0; i--) yield chunk[i]!;
        offset = Infinity;
      }
    } else {
      for (; c < this.chunks.length; c++, offset = 0) {
        const chunk = this.chunks[c]!;
        for (let i = offset; i < chunk.length; i++) yield chunk[i]!;
      }
    }
  }

  *[Symbol.iterator](): Generator<T> {
    yield* this.from(0);
  }

  /** Index of the first chunk whose last entry is not before the probe's target (or the last chunk). */
  private chunkFor(probe: Probe<T>): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const chunk = this.chunks[mid]!;
      if (probe(chunk[chunk.length - 1]!) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function lowerBound<T>(arr: T[], probe: Probe<T>): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (probe(arr[mid]!) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
