#!/usr/bin/env -S node --import tsx
// `hubsync`: the operator's command line over the HTTP API (the same routes, auth and answers).
import { Command, Option } from 'commander';
import type { ConnectionRow } from '../db/connections.js';
import type { ConnectionStatusView, ObjectSyncState } from '../workflows/definitions.js';
import { ApiError, createApiClient, type ApiClient } from './api-client.js';
import { fields, table } from './table.js';

type ConnectionDetail = ConnectionRow & { live: ConnectionStatusView | { unavailable: string } };

interface GlobalOptions {
  apiUrl: string;
  token: string | undefined;
  json: boolean;
}

const program = new Command('hubsync')
  .description('Operate hubsync connections through its HTTP API')
  .addOption(new Option('--api-url <url>', 'the hubsync API').env('HUBSYNC_API_URL').default('http://localhost:3000'))
  .addOption(new Option('--token <token>', 'the operator token (API_TOKEN)').env('API_TOKEN'))
  .option('--json', 'print the API answer as JSON', false)
  .showHelpAfterError();

function context(command: Command): { api: ApiClient; json: boolean } {
  const options = command.optsWithGlobals<GlobalOptions>();
  return { api: createApiClient(options.apiUrl, options.token), json: options.json };
}

const print = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const printJson = (value: unknown): void => print(JSON.stringify(value, null, 2));
const path = (id: string, action = '') => `/connections/${encodeURIComponent(id)}${action}`;

function objectRows(objects: Record<string, ObjectSyncState>): string[][] {
  return Object.entries(objects).map(([type, object]) => [
    type,
    `${object.backfill.status} ${object.backfill.done}${object.backfill.estimatedTotal === undefined ? '' : `/${object.backfill.estimatedTotal}`}`,
    String(object.recordsSynced),
    object.lastRun ? `${object.lastRun.kind} ${object.lastRun.outcome} at ${object.lastRun.finishedAt}` : '-',
    object.nextRunAt ?? '-',
  ]);
}

function describeConnection(connection: ConnectionDetail): string {
  const summary = fields([
    ['id', connection.id],
    ['portal', String(connection.portalId)],
    ['auth', connection.authType],
    ['status', connection.status],
    ['workflow', connection.workflowId],
    ['objects', connection.objectTypes.join(', ')],
    ['sync interval', `${connection.syncIntervalSeconds}s`],
    ['created', connection.createdAt],
  ]);
  if ('unavailable' in connection.live) return `${summary}\n\nlive status unavailable: ${connection.live.unavailable}`;
  const live = connection.live;
  const errors = live.recentErrors.map((error) => `  ${JSON.stringify(error)}`);
  return [
    summary,
    '',
    table(['OBJECT TYPE', 'BACKFILL', 'RECORDS SYNCED', 'LAST RUN', 'NEXT RUN'], objectRows(live.objects)),
    '',
    `webhooks: ${live.webhooks.received} received, ${live.webhooks.duplicates} duplicates, ${live.webhooks.applied} applied`,
    ...(errors.length ? ['recent errors:', ...errors] : []),
  ].join('\n');
}

program
  .command('connections')
  .description('list, inspect and control connections')
  .addCommand(
    new Command('list')
      .description('list connections')
      .option('--status <status>', 'only this status (active, paused, reauth_required, stopping, stopped)')
      .option('--portal <portalId>', 'only this HubSpot portal')
      .option('--limit <n>', 'at most this many')
      .action(async (options: { status?: string; portal?: string; limit?: string }, command: Command) => {
        const { api, json } = context(command);
        const query = new URLSearchParams();
        if (options.status) query.set('status', options.status);
        if (options.portal) query.set('portalId', options.portal);
        if (options.limit) query.set('limit', options.limit);
        const answer = await api.call<{ connections: ConnectionRow[]; next: string | null }>('GET', `/connections${query.size ? `?${query}` : ''}`);
        if (json) return printJson(answer);
        if (!answer.connections.length) return print('no connections');
        print(table(
          ['ID', 'PORTAL', 'AUTH', 'STATUS', 'OBJECTS', 'INTERVAL', 'CREATED'],
          answer.connections.map((c) => [c.id, String(c.portalId), c.authType, c.status, c.objectTypes.join(','), `${c.syncIntervalSeconds}s`, c.createdAt]),
        ));
        if (answer.next) print(`(more: GET /connections?after=${answer.next})`);
      }),
  )
  .addCommand(
    new Command('get')
      .description("one connection, with its workflow's live status")
      .argument('<id>', 'connection id')
      .action(async (id: string, _options: unknown, command: Command) => {
        const { api, json } = context(command);
        const connection = await api.call<ConnectionDetail>('GET', path(id));
        if (json) return printJson(connection);
        print(describeConnection(connection));
      }),
  );

const connections = program.commands.find((command) => command.name() === 'connections')!;

for (const [action, description] of [
  ['pause', 'pause syncing (webhooks are kept and applied on resume)'],
  ['resume', 'resume a paused connection'],
  ['stop', 'stop the connection for good (its workflow completes)'],
] as const) {
  connections
    .command(action)
    .description(description)
    .argument('<id>', 'connection id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const { api, json } = context(command);
      const status = await api.call<ConnectionStatusView>('POST', path(id, `/${action}`));
      if (json) return printJson(status);
      print(`connection ${status.connectionId}: ${status.status}`);
    });
}

connections
  .command('resync')
  .description('sync again: everything, one object type, or what changed since a time')
  .argument('<id>', 'connection id')
  .option('--object-type <type>', 'only this object type')
  .option('--since <iso>', 'only records changed since this ISO time, instead of a full backfill')
  .action(async (id: string, options: { objectType?: string; since?: string }, command: Command) => {
    const { api, json } = context(command);
    const body = { ...(options.objectType ? { objectType: options.objectType } : {}), ...(options.since ? { since: options.since } : {}) };
    const status = await api.call<ConnectionStatusView>('POST', path(id, '/resync'), body);
    if (json) return printJson(status);
    print(`connection ${status.connectionId}: resync of ${options.objectType ?? 'every object type'}${options.since ? ` since ${options.since}` : ''} requested`);
  });

connections
  .command('test')
  .description('check the token, scopes, readable object types and webhook subscriptions')
  .argument('<id>', 'connection id')
  .action(async (id: string, _options: unknown, command: Command) => {
    const { api, json } = context(command);
    let report: { checks?: Array<{ name: string; ok: boolean; skipped?: boolean; detail?: string }> };
    try {
      report = await api.call('POST', path(id, '/test'));
    } catch (error) {
      // An API without the route answers "no route POST ...", not "no connection with id ...".
      if (error instanceof ApiError && error.status === 404 && error.message.startsWith('no route')) {
        throw new ApiError(404, 'not_available', 'connection tests are not available on this hubsync API (no POST /connections/:id/test)');
      }
      throw error;
    }
    if (json || !Array.isArray(report.checks)) return printJson(report);
    print(table(['CHECK', 'RESULT', 'DETAIL'], report.checks.map((check) => [check.name, check.ok ? 'ok' : check.skipped ? 'skipped' : 'FAILED', check.detail ?? ''])));
  });

program.parseAsync().catch((error: unknown) => {
  const message = error instanceof ApiError ? `${error.message} (${error.code})` : error instanceof Error ? error.message : String(error);
  process.stderr.write(`hubsync: ${message}\n`);
  process.exit(1);
});
