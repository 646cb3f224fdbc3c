import { createHash, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { evaluate, type PolicyDocument } from './iam-policy.js';

/**
 * SQS's SendMessage/SendMessageBatch over its wire protocol (AWS JSON 1.0), for function bundles that put messages
 * on a queue (the sweeper). Messages are kept per queue ARN for the test to deliver; the caller's role policies
 * (named by its session token) are enforced on the queue ARN.
 */
export async function startFakeSqs(policiesOf: (principal: string) => PolicyDocument[] | undefined, region: string) {
  const queues = new Map<string, string[]>();
  const calls: { principal: string; action: string; queue: string; allowed: boolean }[] = [];
  /** `<endpoint>/<account>/<name>` → the queue's ARN. */
  const arnOf = (url: string) => {
    const [name = '', account = ''] = url.split('/').reverse();
    return `arn:aws:sqs:${region}:${account}:${name}`;
  };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const reply = (status: number, body: object, type?: string) => {
        response.writeHead(status, {
          'content-type': 'application/x-amz-json-1.0',
          ...(type ? { 'x-amzn-query-error': `${type};Sender` } : {}),
        });
        response.end(JSON.stringify(type ? { __type: `com.amazonaws.sqs#${type}`, ...body } : body));
      };
      const operation = String(request.headers['x-amz-target'] ?? '').replace(/^AmazonSQS\./, '');
      const principal = String(request.headers['x-amz-security-token'] ?? '');
      const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as {
        QueueUrl?: string;
        MessageBody?: string;
        Entries?: { Id: string; MessageBody: string }[];
      };
      const queue = arnOf(input.QueueUrl ?? '');
      if (operation !== 'SendMessage' && operation !== 'SendMessageBatch')
        return reply(400, { message: `${operation} is not modelled` }, 'InvalidAction');
      const allowed = evaluate(policiesOf(principal) ?? [], { action: 'sqs:SendMessage', resource: queue }).allowed;
      calls.push({ principal, action: 'sqs:SendMessage', queue, allowed });
      if (!allowed)
        return reply(
          400,
          { message: `User: ${principal} is not authorized to perform: sqs:sendmessage on resource: ${queue}` },
          'AccessDenied',
        );
      const stored = queues.get(queue) ?? [];
      queues.set(queue, stored);
      const md5 = (body: string) => createHash('md5').update(body).digest('hex');
      if (operation === 'SendMessage') {
        stored.push(input.MessageBody ?? '');
        return reply(200, { MessageId: randomUUID(), MD5OfMessageBody: md5(input.MessageBody ?? '') });
      }
      const entries = input.Entries ?? [];
      for (const entry of entries) stored.push(entry.MessageBody);
      reply(200, {
        Successful: entries.map((entry) => ({
          Id: entry.Id,
          MessageId: randomUUID(),
          MD5OfMessageBody: md5(entry.MessageBody),
        })),
        Failed: [],
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    queues,
    calls,
    /** Takes every message waiting on `queueArn`. */
    take: (queueArn: string) => queues.get(queueArn)?.splice(0) ?? [],
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
