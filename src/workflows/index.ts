// The workflow bundle's entry: every workflow type the worker registers.
export { connectionWorkflow } from './connection.js';
export { objectSyncWorkflow } from './object-sync.js';
export { webhookBatchWorkflow } from './webhook-batch.js';
export { engagementPushWorkflow } from './engagement-push.js';
