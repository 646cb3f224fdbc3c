import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { moveAllowed, type QueuePair, queuePairs, redriveDeadLetters } from '../../src/aws/dead-letter-redrive.js';
import { startFakeSqs } from '../helpers/fake-sqs.js';

/** `quarantine redrive --aws` against SQS's wire protocol (the fake in test/helpers), through the real SDK client. */

const REGION = 'eu-west-2';
const ACCOUNT = '123456789012';
const arn = (name: string) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`;
const operator = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow' as const, Action: 'sqs:*', Resource: arn('acme-prod-client-bank-*') }],
};

let sqs: Awaited<ReturnType<typeof startFakeSqs>>;
let client: SQSClient;
let pairs: QueuePair[];

beforeAll(async () => {
  sqs = await startFakeSqs((principal) => (principal === 'operator' ? [operator] : undefined), REGION);
  client = new SQSClient({
    region: REGION,
    endpoint: sqs.endpoint,
    credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret', sessionToken: 'operator' },
  });
  const url = (name: string) => `${sqs.endpoint}/${ACCOUNT}/acme-prod-client-bank-${name}`;
  pairs = queuePairs({
    IngressQueueUrl: url('IngressQueue'),
    IngressDeadLetterQueueUrl: url('IngressDeadLetterQueue'),
    EgressQueueUrl: url('EgressQueue'),
    EgressDeadLetterQueueUrl: url('EgressDeadLetterQueue'),
    ServerId: 's-1',
  });
});
afterAll(async () => {
  client?.destroy();
  await sqs?.stop();
});
beforeEach(() => {
  sqs.queues.clear();
  sqs.attributes.clear();
  sqs.inFlight.clear();
  sqs.moveTasks.length = 0;
  sqs.holdMoveTasks(false);
  sqs.failNextSends(0);
  sqs.calls.length = 0;
});

const INGRESS = arn('acme-prod-client-bank-IngressQueue');
const INGRESS_DLQ = arn('acme-prod-client-bank-IngressDeadLetterQueue');
const letters = (count: number) =>
  Array.from({ length: count }, (_, index) => `{"detail":{"object":{"key":"f${index}"}}}`);

describe('redrive of a client’s dead-letter queues on AWS', () => {
  it('finds the queue pairs in the client stack outputs, only those the stack has', () => {
    expect(pairs.map((pair) => pair.chain)).toEqual(['ingress', 'egress']);
    expect(queuePairs({ EgressQueueUrl: 'q', EgressDeadLetterQueueUrl: 'd' })).toEqual([
      { chain: 'egress', sourceUrl: 'q', deadLetterUrl: 'd' },
    ]);
    expect(queuePairs({ IngressQueueUrl: 'q' })).toEqual([]);
  });

  it('with SQS move tasks where allowed: every dead letter back on its source queue; again, nothing to do', async () => {
    sqs.queues.set(INGRESS_DLQ, letters(3));
    const first = await redriveDeadLetters(client, pairs);
    expect(first).toEqual([
      { chain: 'ingress', method: 'move-task', messages: 3, taskHandle: expect.any(String) },
      { chain: 'egress', method: 'empty', messages: 0 },
    ]);
    expect(sqs.queues.get(INGRESS)).toEqual(letters(3));
    expect(sqs.queues.get(INGRESS_DLQ)).toEqual([]);
    expect(sqs.moveTasks).toEqual([
      expect.objectContaining({ SourceArn: INGRESS_DLQ, DestinationArn: INGRESS, Status: 'COMPLETED' }),
    ]);
    expect(await redriveDeadLetters(client, pairs)).toEqual([
      { chain: 'ingress', method: 'empty', messages: 0 },
      { chain: 'egress', method: 'empty', messages: 0 },
    ]);
    expect(sqs.moveTasks).toHaveLength(1);
    expect(sqs.calls.filter((call) => !call.allowed)).toEqual([]);
  });

  it('a move task still running from an earlier run is reported, not started twice', async () => {
    sqs.queues.set(INGRESS_DLQ, letters(4));
    sqs.holdMoveTasks(true);
    expect((await redriveDeadLetters(client, pairs))[0]).toMatchObject({ method: 'move-task', messages: 4 });
    const again = await redriveDeadLetters(client, pairs);
    expect(again[0]).toEqual({
      chain: 'ingress',
      method: 'in-progress',
      messages: 4,
      taskHandle: sqs.moveTasks[0]!.TaskHandle,
    });
    expect(sqs.moveTasks).toHaveLength(1);
  });

  it('where the redrive allow policy refuses the source: received, sent back, then deleted, in batches of 10', async () => {
    sqs.attributes.set(INGRESS_DLQ, { RedriveAllowPolicy: JSON.stringify({ redrivePermission: 'denyAll' }) });
    sqs.queues.set(INGRESS_DLQ, letters(12));
    const [ingress] = await redriveDeadLetters(client, pairs);
    expect(ingress).toEqual({ chain: 'ingress', method: 'copied', messages: 12, failed: 0 });
    expect(sqs.queues.get(INGRESS)).toEqual(letters(12));
    expect(sqs.queues.get(INGRESS_DLQ)).toEqual([]);
    expect(sqs.inFlight.size).toBe(0);
    expect(sqs.moveTasks).toEqual([]);
  });

  it('a message that could not be sent back stays in the dead-letter queue (never deleted, never lost)', async () => {
    sqs.attributes.set(INGRESS_DLQ, {
      RedriveAllowPolicy: JSON.stringify({ redrivePermission: 'byQueue', sourceQueueArns: [arn('other')] }),
    });
    sqs.queues.set(INGRESS_DLQ, letters(5));
    sqs.failNextSends(2);
    const [ingress] = await redriveDeadLetters(client, pairs);
    expect(ingress).toEqual({ chain: 'ingress', method: 'copied', messages: 3, failed: 2 });
    expect(sqs.queues.get(INGRESS)).toEqual(letters(5).slice(2));
    // The two unsent are received, not deleted: SQS makes them visible in the dead-letter queue again.
    expect([...sqs.inFlight.values()].map((message) => message.body)).toEqual(letters(5).slice(0, 2));
  });

  it('reads the redrive allow policy as SQS does', () => {
    expect(moveAllowed(undefined, INGRESS)).toBe(true);
    expect(moveAllowed('{"redrivePermission":"allowAll"}', INGRESS)).toBe(true);
    expect(moveAllowed('{"redrivePermission":"denyAll"}', INGRESS)).toBe(false);
    expect(moveAllowed(JSON.stringify({ redrivePermission: 'byQueue', sourceQueueArns: [INGRESS] }), INGRESS)).toBe(
      true,
    );
    expect(moveAllowed(JSON.stringify({ redrivePermission: 'byQueue', sourceQueueArns: [] }), INGRESS)).toBe(false);
    expect(moveAllowed('not json', INGRESS)).toBe(false);
  });

  it('an operator without rights on the queues gets AWS’s AccessDenied, and nothing moves', async () => {
    const stranger = new SQSClient({
      region: REGION,
      endpoint: sqs.endpoint,
      credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret', sessionToken: 'stranger' },
    });
    sqs.queues.set(INGRESS_DLQ, letters(1));
    await expect(redriveDeadLetters(stranger, pairs)).rejects.toThrow(/not authorized/);
    expect(sqs.queues.get(INGRESS_DLQ)).toEqual(letters(1));
    stranger.destroy();
  });
});
