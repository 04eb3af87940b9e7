// Recorded workflow histories: the files scripts/record-histories.ts writes and the replay test
// reads. A history file is exactly `JSON.stringify(await handle.fetchHistory())`; each recording
// adds a manifest beside them, because replay needs what a history does not hold — the workflow
// id (children are named after it) — and a reader wants to know what recorded it.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import proto from '@temporalio/proto';

export const HISTORIES_DIR = fileURLToPath(new URL('./histories/', import.meta.url));
const MANIFEST_SUFFIX = '.manifest.json';

/**
 * Payloads in history are encrypted (src/temporal/codec.ts), so recordings use a key the replay
 * can open. Public on purpose: it guards only simulator data. Replaying through the codec also
 * proves that histories written with it stay readable.
 */
export const RECORDING_PAYLOAD_KEY = createHash('sha256').update('hubsync replay recordings').digest('base64');

export interface RecordedHistory {
  scenario: string;
  workflowType: string;
  workflowId: string;
  runId: string;
}

export interface RecordingManifest {
  recordedAt: string;
  /** The hubsync commit whose workflow code ran, `+dirty` when src/workflows had uncommitted changes. */
  commit: string;
  temporalSdk: string;
  /** By history file name. */
  histories: Record<string, RecordedHistory>;
}

/** @param suffix `<date>-<commit>`, as in the names of the recording's history files. */
export const manifestFileName = (suffix: string): string => `recording-${suffix}${MANIFEST_SUFFIX}`;

export interface HistoryFile extends RecordedHistory {
  file: string;
  history: proto.temporal.api.history.v1.History;
}

/**
 * A file back into the proto History. The SDK would parse the JSON itself (historyFromJSON), but
 * npm installs separate protobufjs copies under @temporalio/common and @temporalio/proto here,
 * and its parser then fails with "type must be a Type"; protobufjs's own fromObject reads the
 * format JSON.stringify wrote (enum names, longs as strings, bytes as base64) directly.
 */
function parseHistory(json: string): proto.temporal.api.history.v1.History {
  return proto.temporal.api.history.v1.History.fromObject(JSON.parse(json) as Record<string, unknown>);
}

/**
 * Every history file with what its manifest says about it. A history no manifest names is an
 * error, not a file to skip: it could not be replayed with its real workflow id.
 */
export function loadRecordedHistories(dir: string = HISTORIES_DIR): HistoryFile[] {
  const names = readdirSync(dir).filter((name) => name.endsWith('.json')).sort();
  const described = new Map<string, RecordedHistory>();
  for (const name of names.filter((n) => n.endsWith(MANIFEST_SUFFIX))) {
    const manifest = JSON.parse(readFileSync(join(dir, name), 'utf8')) as RecordingManifest;
    for (const [file, history] of Object.entries(manifest.histories)) described.set(file, history);
  }
  return names
    .filter((name) => !name.endsWith(MANIFEST_SUFFIX))
    .map((file) => {
      const about = described.get(file);
      if (!about) throw new Error(`${file} is in no recording manifest in ${dir}`);
      return { file, ...about, history: parseHistory(readFileSync(join(dir, file), 'utf8')) };
    });
}
