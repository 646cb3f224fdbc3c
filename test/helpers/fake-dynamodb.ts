import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startFakeEndpoint } from './fake-endpoint.js';

type Item = Record<string, AttributeValue>;

/**
 * One DynamoDB table keyed by `userName`, over DynamoDB's real wire protocol (AWS JSON 1.0): GetItem, Scan (paged,
 * `pageSize` items a page), BatchWriteItem, and UpdateItem with `SET a = :v[, …]` / `REMOVE a` and the one condition
 * `attribute_exists(userName)`. The function bundle and the CLI reach it through their SDK (an endpoint override or
 * `AWS_ENDPOINT_URL_DYNAMODB`), so the SDK's serialisation is exercised as in AWS. Every call is logged in order.
 */
export async function startFakeDynamoDb(options: { table: string; pageSize?: number }) {
  const items = new Map<string, Item>();
  const calls: { operation: string; table: string; key?: string }[] = [];
  /** Operations made to fail once with this error type (e.g. ResourceNotFoundException: no table). */
  const failures = new Map<string, string>();
  const pageSize = options.pageSize ?? 100;
  const { endpoint, stop } = await startFakeEndpoint((request, payload, response) => {
    const reply = (status: number, body: object, type?: string) => {
      response.writeHead(status, {
        'content-type': 'application/x-amz-json-1.0',
        ...(type ? { 'x-amzn-errortype': type } : {}),
      });
      response.end(JSON.stringify(type ? { __type: `com.amazonaws.dynamodb.v20120810#${type}`, ...body } : body));
    };
    const operation = String(request.headers['x-amz-target'] ?? '').replace(/^DynamoDB_20120810\./, '');
    const input = JSON.parse(payload.toString('utf8') || '{}') as Record<string, unknown>;
    const table = String(input.TableName ?? Object.keys(input.RequestItems ?? {})[0] ?? '');
    const key = (input.Key as Item | undefined)?.userName?.S as string | undefined;
    calls.push({ operation, table, ...(key ? { key } : {}) });
    const failure = failures.get(operation);
    if (failure) {
      failures.delete(operation);
      return reply(400, { message: `${operation} failed (${failure})` }, failure);
    }
    if (table !== options.table)
      return reply(400, { message: 'Requested resource not found' }, 'ResourceNotFoundException');
    switch (operation) {
      case 'GetItem': {
        const item = key ? items.get(key) : undefined;
        return reply(200, item ? { Item: item } : {});
      }
      case 'Scan': {
        const names = [...items.keys()].sort();
        const after = (input.ExclusiveStartKey as Item | undefined)?.userName?.S as string | undefined;
        const from = after ? names.findIndex((name) => name > after) : 0;
        const page = from < 0 ? [] : names.slice(from, from + pageSize);
        const more = from >= 0 && from + pageSize < names.length;
        return reply(200, {
          Items: page.map((name) => items.get(name)),
          Count: page.length,
          ScannedCount: page.length,
          ...(more ? { LastEvaluatedKey: { userName: { S: page.at(-1) } } } : {}),
        });
      }
      case 'BatchWriteItem': {
        type Write = { PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } };
        const requests = (input.RequestItems as Record<string, Write[]>)[options.table]!;
        if (requests.length > 25)
          return reply(400, { message: 'Too many items requested for the BatchWriteItem call' }, 'ValidationException');
        for (const entry of requests) {
          if (entry.PutRequest) items.set(entry.PutRequest.Item.userName!.S as string, entry.PutRequest.Item);
          else if (entry.DeleteRequest) items.delete(entry.DeleteRequest.Key.userName!.S as string);
        }
        return reply(200, { UnprocessedItems: {} });
      }
      case 'UpdateItem': {
        const current = key ? items.get(key) : undefined;
        if (input.ConditionExpression === 'attribute_exists(userName)' && !current)
          return reply(400, { message: 'The conditional request failed' }, 'ConditionalCheckFailedException');
        if (input.ConditionExpression && input.ConditionExpression !== 'attribute_exists(userName)')
          return reply(
            400,
            { message: `condition ${input.ConditionExpression} is not modelled` },
            'ValidationException',
          );
        const next: Item = { ...(current ?? { userName: { S: key! } }) };
        const values = (input.ExpressionAttributeValues ?? {}) as Item;
        const expression = String(input.UpdateExpression ?? '');
        const set = /^SET (.+)$/.exec(expression);
        const remove = /^REMOVE (.+)$/.exec(expression);
        if (set) {
          for (const part of set[1]!.split(',')) {
            const [name, value] = part.split('=').map((text) => text.trim()) as [string, string];
            if (!(value in values)) return reply(400, { message: `no value ${value}` }, 'ValidationException');
            next[name] = values[value]!;
          }
        } else if (remove) {
          for (const name of remove[1]!.split(',')) delete next[name.trim()];
        } else return reply(400, { message: `update ${expression} is not modelled` }, 'ValidationException');
        items.set(key!, next);
        return reply(200, input.ReturnValues === 'ALL_NEW' ? { Attributes: next } : {});
      }
      default:
        return reply(400, { message: `${operation} is not modelled` }, 'UnknownOperationException');
    }
  });
  return {
    endpoint,
    items,
    calls,
    /** The next call of `operation` fails with DynamoDB error `type`. */
    failNext(operation: string, type: string) {
      failures.set(operation, type);
    },
    stop,
  };
}

export type FakeDynamoDb = Awaited<ReturnType<typeof startFakeDynamoDb>>;

/**
 * The fake table for a whole test file, reached by the CLI's own SDK client through AWS_ENDPOINT_URL_DYNAMODB (as an
 * operator could point it at DynamoDB Local), emptied after each test. Call at the file's top level. The returned
 * object forwards to the server started in beforeAll, so tests read `dynamo.items` as if they held it directly.
 */
export function useFakeDynamoDb(options: { table: string; pageSize?: number }): FakeDynamoDb {
  let started: FakeDynamoDb | undefined;
  const saved = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  beforeAll(async () => {
    started = await startFakeDynamoDb(options);
    process.env.AWS_ENDPOINT_URL_DYNAMODB = started.endpoint;
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
    else process.env.AWS_ENDPOINT_URL_DYNAMODB = saved;
    await started?.stop();
  });
  afterEach(() => {
    started?.items.clear();
    if (started) started.calls.length = 0;
  });
  return new Proxy({} as FakeDynamoDb, {
    get: (_, property) => {
      if (!started) throw new Error('the fake DynamoDB starts in beforeAll: use it inside a test');
      return Reflect.get(started, property);
    },
  });
}
