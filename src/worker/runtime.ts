import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from 'pino';

const PINO_LEVEL: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

export interface RuntimeOptions {
  level?: LogLevel;
  /** Serve the SDK's metrics (task slots, poll and schedule latencies...) for Prometheus on this port, all interfaces, at /metrics. */
  metricsPort?: number | undefined;
}

/**
 * Routes the Temporal SDK's own logs (worker, workflow `log`, activity context logs) into our JSON
 * logger, and optionally exports its metrics. Must run once, before any worker or native
 * connection exists: the runtime is created with the first of them.
 */
export function installTemporalRuntime(log: Logger, { level = 'WARN', metricsPort }: RuntimeOptions = {}): void {
  const temporalLog = log.child({ component: 'temporal-sdk' });
  Runtime.install({
    ...(metricsPort ? { telemetryOptions: { metrics: { prometheus: { bindAddress: `0.0.0.0:${metricsPort}` } } } } : {}),
    // The process owns shutdown order (API, then worker, then servers): the SDK must not react to signals itself.
    shutdownSignals: [],
    logger: new DefaultLogger(level, ({ level: entryLevel, message, meta }) => {
      temporalLog[PINO_LEVEL[entryLevel]](meta ?? {}, message);
    }),
  });
}
