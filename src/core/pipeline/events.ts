/** An object to process, from whichever event announced it. */
export interface ObjectEvent {
  bucket: string;
  key: string;
  source: 'transfer' | 's3';
  /** Transfer's events carry who uploaded. */
  user?: string;
  etag?: string;
}

export interface ParsedMessage {
  objects: ObjectEvent[];
  /** Events that need no processing, with why (test events, failed uploads, deletions). */
  ignored: string[];
}

/**
 * Reads the body of one SQS message: an EventBridge event from Transfer Family ("SFTP Server File Upload
 * Completed", keys as written by the partner), an S3 event notification (keys URL-encoded, `+` for spaces), or an
 * EventBridge S3 "Object Created" event. Anything else is an error: it should not be on this queue.
 */
export function parseQueueMessage(body: string): ParsedMessage {
  let message: unknown;
  try {
    message = JSON.parse(body);
  } catch {
    throw new Error('the message body is not JSON');
  }
  if (at(message, 'source') === 'aws.transfer') {
    const type = text(at(message, 'detail-type'));
    const status = text(at(message, 'detail', 'status-code'));
    const path = text(at(message, 'detail', 'file-path'));
    if (!/File Upload Completed$/.test(type) || status !== 'COMPLETED') {
      return { objects: [], ignored: [`${type} (${status || 'no status'}) for ${path || '?'}`] };
    }
    const match = /^\/([^/]+)\/(.+)$/.exec(path);
    if (!match) throw new Error(`file-path "${path}" is not /bucket/key`);
    const user = text(at(message, 'detail', 'username'));
    const etag = text(at(message, 'detail', 'etag'));
    const object: ObjectEvent = {
      bucket: match[1]!,
      key: match[2]!,
      source: 'transfer',
      ...(user ? { user } : {}),
      ...(etag ? { etag } : {}),
    };
    return { objects: [object], ignored: [] };
  }
  if (at(message, 'source') === 'aws.s3') {
    const object: ObjectEvent = {
      bucket: text(at(message, 'detail', 'bucket', 'name')),
      key: text(at(message, 'detail', 'object', 'key')),
      source: 's3',
    };
    return { objects: [object], ignored: [] };
  }
  if (at(message, 'Event') === 's3:TestEvent') return { objects: [], ignored: ['s3:TestEvent'] };
  const records = at(message, 'Records');
  if (Array.isArray(records)) {
    const created = (record: unknown) => text(at(record, 'eventName')).startsWith('ObjectCreated');
    return {
      objects: records.filter(created).map((record) => ({
        bucket: text(at(record, 's3', 'bucket', 'name')),
        key: decodeS3Key(text(at(record, 's3', 'object', 'key'))),
        source: 's3' as const,
      })),
      ignored: records.filter((record) => !created(record)).map((record) => text(at(record, 'eventName'))),
    };
  }
  throw new Error('the message is neither a Transfer Family event nor an S3 event');
}

/** S3 notification keys are form-encoded: `+` is a space, so it is decoded before the percent escapes. */
export function decodeS3Key(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

function at(value: unknown, ...path: string[]): unknown {
  return path.reduce<unknown>(
    (node, key) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined),
    value,
  );
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  return value === undefined || value === null ? '' : String(value);
}
