import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../../src/aws/s3-object-store.js';
import { ingest } from '../../../src/core/pipeline/ingest.js';
import { listQuarantine, releaseQuarantined } from '../../../src/core/pipeline/quarantine.js';
import { sweepUploads } from '../../../src/core/pipeline/sweeper.js';
import { type PipelineEvent, QUARANTINE_PREFIX } from '../../../src/core/pipeline/types.js';
import { memoryKeys, SETTINGS } from '../../helpers/pipeline.js';

const S3rver = createRequire(import.meta.url)('s3rver') as new (
  options: object,
) => { run(): Promise<{ port: number }>; close(): Promise<void> };

let root: string;
let server: InstanceType<typeof S3rver>;
let s3: S3Client;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sftpctl-quarantine-s3-'));
  server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    directory: root,
    silent: true,
    configureBuckets: Object.values(SETTINGS.buckets).map((name) => ({ name })),
  });
  const { port } = await server.run();
  s3 = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
}, 60_000);
afterAll(async () => {
  s3?.destroy();
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

describe('quarantine and sweeper over the S3 ObjectStore (the Lambda path, s3rver)', () => {
  it('a permanent failure is quarantined once under the prefix; list, release, a fixed version clears the record; the sweep requeues untagged uploads', async () => {
    const events: PipelineEvent[] = [];
    const deps = {
      store: new S3ObjectStore(s3),
      keys: memoryKeys([]),
      log: (event: PipelineEvent) => events.push(event),
      clock: { now: () => new Date(Date.now() + 10 * 60_000) },
    };
    const settings = { ...SETTINGS, requireEncryption: true };
    await s3.send(new PutObjectCommand({ Bucket: SETTINGS.buckets.upload, Key: 'in/plain.csv', Body: 'x' }));
    await expect(ingest(deps, settings, 'in/plain.csv')).rejects.toMatchObject({
      code: 'NOT_ENCRYPTED',
      fault: 'permanent',
      quarantined: true,
    });
    // At-least-once delivery: the same version again is not quarantined twice.
    expect(await ingest(deps, settings, 'in/plain.csv')).toMatchObject({
      status: 'skipped',
      reason: 'already quarantined',
    });
    expect(events.filter((event) => event.event === 'quarantined')).toHaveLength(1);
    const records = await listQuarantine(deps, settings);
    expect(records).toMatchObject([
      { key: 'in/plain.csv', record: `${QUARANTINE_PREFIX}in/plain.csv.json`, reason: { code: 'NOT_ENCRYPTED' } },
    ]);
    expect(await sweepUploads(deps, settings, { olderThanMs: 60_000 })).toMatchObject({ requeue: [] });
    expect(await releaseQuarantined(deps, settings, 'in/plain.csv')).toEqual({ key: 'in/plain.csv', released: true });
    expect(await sweepUploads(deps, settings, { olderThanMs: 60_000 })).toMatchObject({ requeue: ['in/plain.csv'] });
    // Copied through once the client no longer requires encryption: the stale record goes.
    expect(await ingest(deps, SETTINGS, 'in/plain.csv')).toMatchObject({ status: 'processed' });
    expect(await listQuarantine(deps, settings)).toEqual([]);
  });

  it('a corrected re-upload that lands while the refused version is being quarantined is processed, not skipped', async () => {
    const events: PipelineEvent[] = [];
    const store = new S3ObjectStore(s3);
    const key = 'in/race.csv';
    // The partner's fix lands just after the refused version's job made sure it was still current, while it writes
    // the quarantine record (the window before its status tag).
    const racing = new Proxy(store, {
      get(target, name, receiver) {
        if (name !== 'put') return Reflect.get(target, name, receiver);
        return async (...args: Parameters<S3ObjectStore['put']>) => {
          if (args[0] === SETTINGS.buckets.raw && args[1].startsWith(QUARANTINE_PREFIX))
            await s3.send(
              new PutObjectCommand({ Bucket: SETTINGS.buckets.upload, Key: key, Body: 'id;amount\n1;10\n' }),
            );
          return target.put(...args);
        };
      },
    });
    const deps = {
      store: racing,
      keys: memoryKeys([]),
      log: (event: PipelineEvent) => events.push(event),
      clock: { now: () => new Date() },
    };
    await s3.send(new PutObjectCommand({ Bucket: SETTINGS.buckets.upload, Key: key, Body: '' }));
    await expect(ingest(deps, SETTINGS, key)).rejects.toMatchObject({ code: 'EMPTY_FILE', quarantined: true });
    // The fix's own event: its content is published and the stale record goes.
    expect(await ingest({ ...deps, store }, SETTINGS, key)).toMatchObject({ status: 'processed', output: key });
    expect(await store.getTags(SETTINGS.buckets.upload, key)).toMatchObject({ 'sftpctl-status': 'processed' });
    expect(await listQuarantine(deps, SETTINGS)).toEqual([]);
  });
});
