// A warm Lambda container for one real function bundle: imports the unzipped handler once, then answers each
// invocation sent over IPC with the handler's result (or its error) and the lines it wrote to stdout (its logs).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dir, file, exportName] = process.argv.slice(2);
const lines = [];
process.stdout.write = (chunk) => {
  lines.push(...String(chunk).split('\n').filter(Boolean));
  return true;
};
const module = await import(pathToFileURL(join(dir, file)).href);
const handler = module[exportName];
process.on('message', async ({ id, event, remainingMs }) => {
  lines.length = 0;
  const started = Date.now();
  // Lambda's own countdown, when the test gives the invocation a time limit.
  const clock = remainingMs ? { getRemainingTimeInMillis: () => remainingMs - (Date.now() - started) } : {};
  try {
    const response = await handler(event, { functionName: file, awsRequestId: id, ...clock });
    process.send({ id, response, logs: lines.splice(0) });
  } catch (error) {
    process.send({ id, error: String(error?.stack ?? error), logs: lines.splice(0) });
  }
});
process.send({ ready: true });
