// `npm run temporal:cli`: finds or builds the Temporal CLI ahead of time (CI runs it before the
// tests so that a cold build does not happen inside the test run's set-up).
import { findOrBuildTemporalCli } from '../src/embedded/temporal-cli.js';
import { createLogger } from '../src/logger.js';

const log = createLogger('info');
const path = await findOrBuildTemporalCli(log);
log.info({ path: path ?? 'none (the Temporal SDK will download its dev server)' }, 'temporal cli');
