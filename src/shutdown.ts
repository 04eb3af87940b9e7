import type { Logger } from 'pino';

export interface Shutdown {
  /** Registers a stop step; steps run newest first (the reverse of start-up). */
  add(name: string, step: () => Promise<unknown>): void;
  /** Runs every step once, then exits with `code` (1 if a step failed). */
  stop(reason: string, code?: number): Promise<never>;
}

/**
 * One Ctrl-C reaches us more than once: from the terminal, and again relayed by npm and tsx. Only
 * a signal this long after the first is a second, deliberate one.
 */
const REPEAT_SIGNAL_MS = 1_000;

/**
 * Ordered shutdown on SIGINT/SIGTERM or on a failure, so nothing started is left behind.
 * A second signal while stopping exits at once.
 */
export function createShutdown(log: Logger): Shutdown {
  const steps: Array<[string, () => Promise<unknown>]> = [];
  let stoppingSince: number | undefined;
  const stop = async (reason: string, code = 0): Promise<never> => {
    if (stoppingSince !== undefined) {
      if (Date.now() - stoppingSince > REPEAT_SIGNAL_MS) process.exit(1);
      return new Promise<never>(() => {}); // the same request: the first call is stopping
    }
    stoppingSince = Date.now();
    log.info({ reason }, 'stopping');
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (error) {
        code = 1;
        log.error({ err: error, step: name }, 'stop step failed');
      }
    }
    log.info('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  return { add: (name, step) => void steps.unshift([name, step]), stop };
}

/** The last line of every entry point: a failure stops what started, then exits 1 so a supervisor restarts us. */
export function exitOnFailure(log: Logger, shutdown: Shutdown) {
  return (error: unknown): Promise<never> => {
    log.fatal({ err: error }, 'failed');
    return shutdown.stop('failure', 1);
  };
}
