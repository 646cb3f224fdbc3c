import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
const S3rver = createRequire(import.meta.url)('s3rver') as new (options: object) => S3rverInstance;

/** A real S3 HTTP API (s3rver) on a free port, with the given buckets; `stop` removes its folder. */
export async function startS3rver(buckets: string[]) {
  const root = await mkdtemp(join(tmpdir(), 'sftpctl-s3rver-'));
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    directory: root,
    silent: true,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  return {
    root,
    endpoint: `http://127.0.0.1:${port}`,
    /** Client settings for AwsClients' `overrides.s3`. */
    s3Overrides: {
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    },
    async stop() {
      await server.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
