/**
 * Read-ahead for backfill pages. A backfill's pages are sequential (page N+1's cursor comes with
 * page N), so one page at a time leaves the rate budget idle while page N is written and the next
 * activity is scheduled. The activity that read page N starts the reads of page N+1 at once and
 * leaves them here; the activity for page N+1, when it runs in this process, takes them instead of
 * asking again. Records never pass through the workflow, and a miss (another worker, a restart, a
 * pause, an expired or failed read) only means reading the page the ordinary way. A read-ahead
 * nobody takes costs its requests of the budget and is dropped.
 */
export interface ReadAhead<T> {
  /** Starts `read` for `key` unless a read for it is already held. */
  start(key: string, read: () => Promise<T>): void;
  /** What was read ahead for `key` (waiting for it if still in flight), once; undefined on a miss or a failed read. */
  take(key: string): Promise<T | undefined>;
}

export interface ReadAheadOptions {
  /** A read older than this is not used: the next page is normally taken within a second. */
  maxAgeMs?: number;
  /** Reads held at most (the oldest go first): one per backfill running in this process is the norm. */
  maxEntries?: number;
  now?: () => number;
}

interface Entry<T> {
  startedAt: number;
  value: Promise<T | undefined>;
}

export function createReadAhead<T>({ maxAgeMs = 30_000, maxEntries = 32, now = Date.now }: ReadAheadOptions = {}): ReadAhead<T> {
  const entries = new Map<string, Entry<T>>();

  function dropExpired(): void {
    for (const [key, entry] of entries) if (now() - entry.startedAt > maxAgeMs) entries.delete(key);
  }

  return {
    start(key, read) {
      dropExpired();
      if (entries.has(key)) return;
      // A failed read is a miss; its error (a 429, an expired token) reaches the budget through
      // the client's hooks and is met again, classified, when the page is read the ordinary way.
      entries.set(key, { startedAt: now(), value: read().catch(() => undefined) });
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
    },
    async take(key) {
      dropExpired();
      const entry = entries.get(key);
      if (!entry) return undefined;
      entries.delete(key);
      return entry.value;
    },
  };
}

/** What identifies a list page: the same cursor with other properties or another connection is another page. */
export function listPageKey(connectionId: string, objectType: string, properties: string[], after: string | undefined, archived: boolean): string {
  return JSON.stringify([connectionId, objectType, archived, after ?? null, properties]);
}
