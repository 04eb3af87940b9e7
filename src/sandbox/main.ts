// `npm run sandbox`: the HubSpot simulator on its own, seeded with a demo portal.
import { loadVariable } from '../config.js';
import { createDemoPortal, createSandbox } from './server.js';

async function main(): Promise<void> {
  const port = Number(process.env.SANDBOX_PORT ?? 4010);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`SANDBOX_PORT must be a port number, got ${process.env.SANDBOX_PORT}`);
  const sandbox = createSandbox();
  const demo = createDemoPortal(sandbox, { app: { appId: 1, clientId: 'sandbox-client-id', clientSecret: 'sandbox-client-secret' } });
  const server = await sandbox.listen(port, loadVariable('SANDBOX_HOST'));
  // The demo token is a fixed, public test value: printing it is the point.
  console.log(`HubSpot sandbox listening on ${server.url}`);
  console.log(`portal ${demo.portalId}, private-app token: ${demo.token}`);
  console.log(`control API: ${server.url}/__sandbox/portals/${demo.portalId}/ground-truth`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
