// Each test process routes the Temporal SDK's logs through our logger at WARN, keeping output readable.
import { createLogger } from '../src/logger.js';
import { installTemporalRuntime } from '../src/worker/runtime.js';

installTemporalRuntime(createLogger(process.env.LOG_LEVEL ?? 'warn'));
