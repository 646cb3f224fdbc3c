import { describe, expect, it } from 'vitest';
import { decodeS3Key, parseQueueMessage } from '../../../src/core/pipeline/events.js';

const transfer = (status: string, path: string, type = 'SFTP Server File Upload Completed') =>
  JSON.stringify({
    version: '0',
    source: 'aws.transfer',
    'detail-type': type,
    detail: {
      'status-code': status,
      'file-path': path,
      username: 'bank-upload',
      'server-id': 's-1',
      etag: 'abc',
      bytes: 10,
    },
  });

describe('parseQueueMessage', () => {
  it('reads a completed Transfer upload: keys are not URL-encoded there', () => {
    expect(parseQueueMessage(transfer('COMPLETED', '/acme-prod-bank-upload/in/a b+c%20d.csv.gpg'))).toEqual({
      objects: [
        {
          bucket: 'acme-prod-bank-upload',
          key: 'in/a b+c%20d.csv.gpg',
          source: 'transfer',
          user: 'bank-upload',
          etag: 'abc',
        },
      ],
      ignored: [],
    });
  });

  it('ignores failed uploads and other Transfer events', () => {
    expect(parseQueueMessage(transfer('FAILED', '/b/k')).objects).toEqual([]);
    expect(parseQueueMessage(transfer('COMPLETED', '/b/k', 'SFTP Server File Download Completed')).objects).toEqual([]);
  });

  it('reads S3 notifications, decoding + before % escapes', () => {
    const body = JSON.stringify({
      Records: [
        {
          eventName: 'ObjectCreated:Put',
          s3: { bucket: { name: 'exp' }, object: { key: 'out/my+report+%2B1%25.csv', eTag: 'e' } },
        },
        {
          eventName: 'ObjectCreated:CompleteMultipartUpload',
          s3: { bucket: { name: 'exp' }, object: { key: '%C3%BCber%2Fdir/x.csv' } },
        },
        { eventName: 'ObjectRemoved:Delete', s3: { bucket: { name: 'exp' }, object: { key: 'gone' } } },
      ],
    });
    const parsed = parseQueueMessage(body);
    expect(parsed.objects.map((object) => object.key)).toEqual(['out/my report +1%.csv', 'über/dir/x.csv']);
    expect(parsed.ignored).toEqual(['ObjectRemoved:Delete']);
  });

  it('ignores S3 test events and reads EventBridge S3 events', () => {
    expect(parseQueueMessage(JSON.stringify({ Event: 's3:TestEvent' })).objects).toEqual([]);
    expect(
      parseQueueMessage(
        JSON.stringify({
          source: 'aws.s3',
          'detail-type': 'Object Created',
          detail: { bucket: { name: 'b' }, object: { key: 'a b.csv' } },
        }),
      ).objects[0],
    ).toMatchObject({ bucket: 'b', key: 'a b.csv' });
  });

  it('refuses what should not be on the queue', () => {
    expect(() => parseQueueMessage('not json')).toThrow(/not JSON/);
    expect(() => parseQueueMessage('{"hello":1}')).toThrow(/neither/);
    expect(() => parseQueueMessage(transfer('COMPLETED', 'no-slash'))).toThrow(/bucket\/key/);
  });

  it('decodeS3Key', () => {
    expect(decodeS3Key('a+b%2Bc')).toBe('a b+c');
  });
});
