import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Logger } from 'pino';
import { loadVariable } from '../config.js';

/**
 * Finds the Temporal CLI (dev server + Web UI in one binary), building it from the Go module
 * proxy when it is missing. v1.5.1 is the newest tag that `go install pkg@version` accepts.
 */
export const TEMPORAL_CLI_VERSION = '1.5.1';
const CLI_MODULE = `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`;

/** Outside the repo so that fresh clones reuse one build. */
export function temporalCliCacheDir(): string {
  const cacheHome = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(cacheHome, 'hubsync', `temporal-cli-${TEMPORAL_CLI_VERSION}`);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

function buildWithGo(cacheDir: string, log: Logger): Promise<string> {
  mkdirSync(cacheDir, { recursive: true });
  log.info({ module: CLI_MODULE, cacheDir }, 'building the Temporal CLI with go install (first run only; takes a few minutes)');
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('go', ['install', CLI_MODULE], {
      env: { ...process.env, GOBIN: cacheDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // go prints one line per downloaded module: relay them as progress.
    const relay = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) log.info({ go: line }, 'temporal cli build');
    };
    child.stdout.on('data', relay);
    child.stderr.on('data', relay);
    const heartbeat = setInterval(
      () => log.info({ seconds: Math.round((Date.now() - started) / 1000) }, 'still building the Temporal CLI'),
      30_000,
    );
    child.on('error', (error) => {
      clearInterval(heartbeat);
      reject(error);
    });
    child.on('exit', (code) => {
      clearInterval(heartbeat);
      const binary = join(cacheDir, 'temporal');
      if (code === 0 && isExecutable(binary)) resolve(binary);
      else reject(new Error(`go install ${CLI_MODULE} failed with exit code ${code}`));
    });
  });
}

/**
 * TEMPORAL_CLI_PATH, then `temporal` on PATH, then the cache, then a Go build. Returns undefined
 * when none works, so the caller can let the Temporal SDK download its own server instead.
 * @param explicit the configured binary (`config.temporal.cliPath`); by default TEMPORAL_CLI_PATH
 *   read through the configuration schema, for callers without a loaded configuration.
 */
export async function findOrBuildTemporalCli(log: Logger, explicit: string | undefined = loadVariable('TEMPORAL_CLI_PATH')): Promise<string | undefined> {
  if (explicit) {
    if (!isExecutable(explicit)) throw new Error(`TEMPORAL_CLI_PATH=${explicit} is not an executable file`);
    return explicit;
  }
  const found = onPath('temporal') ?? [join(temporalCliCacheDir(), 'temporal')].find(isExecutable);
  if (found) return found;
  if (spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0) return buildWithGo(temporalCliCacheDir(), log);
  log.warn('no Temporal CLI found and no Go toolchain to build one: the Temporal SDK will download its dev server');
  return undefined;
}
