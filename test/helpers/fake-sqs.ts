import { createHash, randomUUID } from 'node:crypto';
import { startFakeEndpoint } from './fake-endpoint.js';
import { evaluate, type PolicyDocument } from './iam-policy.js';

/**
 * SQS over its wire protocol (AWS JSON 1.0): SendMessage/SendMessageBatch for function bundles that put messages on
 * a queue (the sweeper); GetQueueAttributes, ReceiveMessage, DeleteMessageBatch, StartMessageMoveTask and
 * ListMessageMoveTasks for `quarantine redrive --aws`. Messages are kept per queue ARN for the test to deliver; the
 * caller's policies (named by its session token) are enforced on the queue ARN, as `sqs:<Operation>`.
 */
const MODELLED = new Set([
  'SendMessage',
  'SendMessageBatch',
  'GetQueueAttributes',
  'ReceiveMessage',
  'DeleteMessageBatch',
  'StartMessageMoveTask',
  'ListMessageMoveTasks',
]);

export async function startFakeSqs(policiesOf: (principal: string) => PolicyDocument[] | undefined, region: string) {
  const queues = new Map<string, string[]>();
  const calls: { principal: string; action: string; queue: string; allowed: boolean }[] = [];
  /** Attributes a test sets per queue ARN (RedriveAllowPolicy, …). */
  const attributes = new Map<string, Record<string, string>>();
  /** Received and not deleted: gone from the queue (their visibility timeout never ends here). */
  const inFlight = new Map<string, { queue: string; body: string }>();
  const moveTasks: Record<string, unknown>[] = [];
  let holdMoveTasks = false;
  let failSends = 0;
  /** `<endpoint>/<account>/<name>` → the queue's ARN. */
  const arnOf = (url: string) => {
    const [name = '', account = ''] = url.split('/').reverse();
    return `arn:aws:sqs:${region}:${account}:${name}`;
  };
  const { endpoint, stop } = await startFakeEndpoint((request, payload, response) => {
    const reply = (status: number, body: object, type?: string) => {
      response.writeHead(status, {
        'content-type': 'application/x-amz-json-1.0',
        ...(type ? { 'x-amzn-query-error': `${type};Sender` } : {}),
      });
      response.end(JSON.stringify(type ? { __type: `com.amazonaws.sqs#${type}`, ...body } : body));
    };
    const operation = String(request.headers['x-amz-target'] ?? '').replace(/^AmazonSQS\./, '');
    const principal = String(request.headers['x-amz-security-token'] ?? '');
    const input = JSON.parse(payload.toString('utf8') || '{}') as {
      QueueUrl?: string;
      MessageBody?: string;
      Entries?: { Id: string; MessageBody: string; ReceiptHandle?: string }[];
      MaxNumberOfMessages?: number;
      SourceArn?: string;
      DestinationArn?: string;
    };
    const queue = input.SourceArn ?? arnOf(input.QueueUrl ?? '');
    if (!MODELLED.has(operation)) return reply(400, { message: `${operation} is not modelled` }, 'InvalidAction');
    // SendMessageBatch is authorised as sqs:SendMessage, DeleteMessageBatch as sqs:DeleteMessage (as IAM does).
    const action = `sqs:${operation.replace(/Batch$/, '')}`;
    const allowed = evaluate(policiesOf(principal) ?? [], { action, resource: queue }).allowed;
    calls.push({ principal, action, queue, allowed });
    if (!allowed)
      return reply(
        400,
        { message: `User: ${principal} is not authorized to perform: ${action.toLowerCase()} on resource: ${queue}` },
        'AccessDenied',
      );
    const stored = queues.get(queue) ?? [];
    queues.set(queue, stored);
    const md5 = (body: string) => createHash('md5').update(body).digest('hex');
    if (operation === 'GetQueueAttributes')
      return reply(200, {
        Attributes: {
          QueueArn: queue,
          ApproximateNumberOfMessages: String(stored.length),
          ...attributes.get(queue),
        },
      });
    if (operation === 'ReceiveMessage') {
      const taken = stored.splice(0, Math.min(input.MaxNumberOfMessages ?? 1, 10));
      return reply(200, {
        Messages: taken.map((body) => {
          const receipt = randomUUID();
          inFlight.set(receipt, { queue, body });
          return { MessageId: randomUUID(), ReceiptHandle: receipt, MD5OfBody: md5(body), Body: body };
        }),
      });
    }
    if (operation === 'DeleteMessageBatch') {
      const entries = input.Entries ?? [];
      for (const entry of entries) inFlight.delete(entry.ReceiptHandle ?? '');
      return reply(200, { Successful: entries.map((entry) => ({ Id: entry.Id })), Failed: [] });
    }
    if (operation === 'StartMessageMoveTask') {
      const handle = randomUUID();
      const moving = holdMoveTasks ? [] : stored.splice(0);
      if (input.DestinationArn)
        queues.set(input.DestinationArn, [...(queues.get(input.DestinationArn) ?? []), ...moving]);
      moveTasks.push({
        TaskHandle: handle,
        SourceArn: queue,
        ...(input.DestinationArn ? { DestinationArn: input.DestinationArn } : {}),
        Status: holdMoveTasks ? 'RUNNING' : 'COMPLETED',
        ApproximateNumberOfMessagesMoved: moving.length,
        ApproximateNumberOfMessagesToMove: holdMoveTasks ? stored.length : moving.length,
        StartedTimestamp: Date.now(),
      });
      return reply(200, { TaskHandle: handle });
    }
    if (operation === 'ListMessageMoveTasks')
      return reply(200, { Results: moveTasks.filter((task) => task.SourceArn === queue).reverse() });
    if (operation === 'SendMessageBatch' && failSends > 0) {
      const entries = input.Entries ?? [];
      const failing = entries.slice(0, failSends);
      failSends -= failing.length;
      for (const entry of entries.slice(failing.length)) stored.push(entry.MessageBody);
      return reply(200, {
        Successful: entries
          .slice(failing.length)
          .map((entry) => ({ Id: entry.Id, MessageId: randomUUID(), MD5OfMessageBody: md5(entry.MessageBody) })),
        Failed: failing.map((entry) => ({ Id: entry.Id, Code: 'InternalError', SenderFault: false })),
      });
    }
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
  return {
    endpoint,
    queues,
    calls,
    attributes,
    inFlight,
    moveTasks,
    /** Move tasks started from now on stay RUNNING and move nothing (true) or complete at once (false). */
    holdMoveTasks: (hold: boolean) => {
      holdMoveTasks = hold;
    },
    /** The next `count` entries of SendMessageBatch fail (InternalError). */
    failNextSends: (count: number) => {
      failSends = count;
    },
    /** Takes every message waiting on `queueArn`. */
    take: (queueArn: string) => queues.get(queueArn)?.splice(0) ?? [],
    stop,
  };
}
