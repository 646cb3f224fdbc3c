import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { egress } from '../../../src/core/pipeline/egress.js';
import { ingest } from '../../../src/core/pipeline/ingest.js';
import { QUARANTINE_PREFIX } from '../../../src/core/pipeline/types.js';
import { withTempDir } from '../../helpers/cli.js';
import { fsDeps, gnupgHome, memoryKeys, SETTINGS } from '../../helpers/pipeline.js';

const gnupg = gnupgHome();
let rsa: ReturnType<typeof gnupg.generate>;
let ecc: ReturnType<typeof gnupg.generate>;
let partner: ReturnType<typeof gnupg.generate>;
let stranger: ReturnType<typeof gnupg.generate>;
const plain = randomBytes(2 * 1024 * 1024 + 3);

beforeAll(() => {
  rsa = gnupg.generate('Ingress RSA <rsa@example.com>', 'rsa3072');
  ecc = gnupg.generate('Ingress ECC <ecc@example.com>', 'future-default');
  partner = gnupg.generate('Partner <partner@example.com>', 'future-default');
  stranger = gnupg.generate('Stranger <s@example.com>', 'future-default');
}, 120_000);
afterAll(() => gnupg.close());

const encryptTo = (fingerprint: string, data: Buffer, flags: string[] = []) =>
  gnupg.gpg(['--encrypt', '-r', fingerprint, ...flags], data);

async function upload(root: string, key: string, data: Buffer | string) {
  const path = join(root, SETTINGS.buckets.upload, ...key.split('/'));
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, data);
}
const rawFile = (root: string, key: string) => readFile(join(root, SETTINGS.buckets.raw, ...key.split('/')));
const rawKeys = async (root: string) => {
  const keys: string[] = [];
  for await (const info of fsDeps(root, memoryKeys([])).store.list(SETTINGS.buckets.raw)) keys.push(info.key);
  return keys;
};

describe('ingest: gpg-encrypted uploads decrypt into the raw bucket', () => {
  it.each([
    ['rsa, binary, compressed', () => rsa, []],
    ['rsa, armored, uncompressed', () => rsa, ['--armor', '--compress-algo', 'none']],
    ['curve25519, binary, uncompressed', () => ecc, ['--compress-algo', 'none']],
    ['curve25519, armored, zlib', () => ecc, ['--armor', '--compress-algo', 'zlib']],
  ] as const)('%s', async (_name, key, flags) => {
    await withTempDir(async (root) => {
      await upload(root, 'in/report.csv.gpg', encryptTo(key().fingerprint, plain, [...flags]));
      const deps = fsDeps(root, memoryKeys([key().privateKey]));
      const outcome = await ingest(deps, SETTINGS, 'in/report.csv.gpg');
      expect(outcome).toMatchObject({
        status: 'processed',
        output: 'in/report.csv',
        decrypted: true,
        bytes: plain.length,
      });
      expect((await rawFile(root, 'in/report.csv')).equals(plain)).toBe(true);
      expect(await deps.store.getTags(SETTINGS.buckets.upload, 'in/report.csv.gpg')).toEqual({
        'sftpctl-status': 'processed',
      });
      expect(await deps.store.head(SETTINGS.buckets.upload, 'in/report.csv.gpg')).toBeDefined();
    });
  });

  it('decrypts with the retiring key during a rotation', async () => {
    await withTempDir(async (root) => {
      await upload(root, 'old.gpg', encryptTo(rsa.fingerprint, plain));
      const outcome = await ingest(fsDeps(root, memoryKeys([ecc.privateKey, rsa.privateKey])), SETTINGS, 'old.gpg');
      expect(outcome.status).toBe('processed');
    });
  });
});

describe('ingest faults: nothing reaches raw, the original survives, a quarantine record says why', () => {
  const cases: [string, (root: string) => Promise<void>, RegExp][] = [
    [
      'one byte tampered',
      async (root) => {
        const bytes = encryptTo(ecc.fingerprint, plain, ['--compress-algo', 'none']);
        bytes[Math.floor(bytes.length / 2)]! ^= 0x40;
        await upload(root, 'f.csv.gpg', bytes);
      },
      /PGP_/,
    ],
    [
      'truncated',
      async (root) => upload(root, 'f.csv.gpg', encryptTo(ecc.fingerprint, plain).subarray(0, 1_000_000)),
      /PGP_TRUNCATED|PGP_/,
    ],
    [
      'encrypted to another key',
      async (root) => upload(root, 'f.csv.gpg', encryptTo(stranger.fingerprint, plain)),
      /PGP_WRONG_KEY/,
    ],
    ['not PGP at all: text', async (root) => upload(root, 'f.csv.gpg', 'id,amount\n1,10\n'), /PGP_NOT_PGP/],
    [
      'not PGP at all: binary',
      async (root) => upload(root, 'f.csv.gpg', Buffer.concat([Buffer.from([0xff, 0x00]), plain])),
      /PGP_/,
    ],
    [
      'compression bomb',
      async (root) =>
        upload(
          root,
          'f.csv.gpg',
          encryptTo(ecc.fingerprint, Buffer.alloc(200 << 20), ['--compress-algo', 'zlib', '-z', '9']),
        ),
      /PGP_DECOMPRESSION_LIMIT/,
    ],
    ['zero bytes', async (root) => upload(root, 'f.csv.gpg', Buffer.alloc(0)), /EMPTY_FILE/],
    [
      'checksum mismatch, sidecar first',
      async (root) => {
        await upload(root, 'f.csv.sha256', `${'0'.repeat(64)}  f.csv\n`);
        await upload(root, 'f.csv.gpg', encryptTo(ecc.fingerprint, plain));
      },
      /CHECKSUM_MISMATCH/,
    ],
  ];

  it.each(cases)('%s', async (_name, arrange, code) => {
    await withTempDir(async (root) => {
      await arrange(root);
      const deps = fsDeps(root, memoryKeys([ecc.privateKey]));
      const before = await readFile(join(root, SETTINGS.buckets.upload, 'f.csv.gpg'));
      await expect(ingest(deps, SETTINGS, 'f.csv.gpg')).rejects.toMatchObject({ code: expect.stringMatching(code) });
      expect((await rawKeys(root)).filter((key) => !key.startsWith(QUARANTINE_PREFIX))).toEqual([]);
      expect((await readFile(join(root, SETTINGS.buckets.upload, 'f.csv.gpg'))).equals(before)).toBe(true);
      const record = JSON.parse((await rawFile(root, `${QUARANTINE_PREFIX}f.csv.gpg.json`)).toString());
      expect(record).toMatchObject({ client: 'bank', key: 'f.csv.gpg', reason: { code: expect.stringMatching(code) } });
      expect(JSON.stringify(record)).not.toMatch(/PRIVATE KEY BLOCK|PUBLIC KEY BLOCK/);
      expect((await deps.store.getTags(SETTINGS.buckets.upload, 'f.csv.gpg'))['sftpctl-status']).toBe('quarantined');
      expect(await readdir(join(root, '.staging')).catch(() => [])).toEqual([]);
    });
  });

  it('checksum mismatch, sidecar after the file: the published copy is taken back out', async () => {
    await withTempDir(async (root) => {
      const deps = fsDeps(root, memoryKeys([ecc.privateKey]));
      await upload(root, 'f.csv.gpg', encryptTo(ecc.fingerprint, plain));
      await ingest(deps, SETTINGS, 'f.csv.gpg');
      await upload(root, 'f.csv.sha256', `${'1'.repeat(64)}  f.csv\n`);
      await expect(ingest(deps, SETTINGS, 'f.csv.sha256')).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' });
      expect((await rawKeys(root)).filter((key) => !key.startsWith(QUARANTINE_PREFIX))).toEqual([]);
      expect((await deps.store.getTags(SETTINGS.buckets.upload, 'f.csv.gpg'))['sftpctl-status']).toBe('quarantined');
    });
  });

  it('plain files are quarantined when the client requires encryption, copied through otherwise', async () => {
    await withTempDir(async (root) => {
      await upload(root, 'notes.txt', 'hello\n');
      const deps = fsDeps(root, memoryKeys([ecc.privateKey]));
      await expect(ingest(deps, { ...SETTINGS, requireEncryption: true }, 'notes.txt')).rejects.toMatchObject({
        code: 'NOT_ENCRYPTED',
      });
      // The quarantined version is not processed again; a new upload of the name is a new version.
      expect(await ingest(deps, SETTINGS, 'notes.txt')).toMatchObject({
        status: 'skipped',
        reason: 'already quarantined',
      });
      await upload(root, 'notes.txt', 'hello\n');
      expect(await ingest(deps, SETTINGS, 'notes.txt')).toMatchObject({ status: 'processed', decrypted: false });
      expect(await rawKeys(root)).toEqual(['notes.txt']); // the stale quarantine record went with the success
      expect((await rawFile(root, 'notes.txt')).toString()).toBe('hello\n');
    });
  });

  it('a function killed mid-stream leaves no partial object; the retry publishes it whole', async () => {
    await withTempDir(async (root) => {
      await upload(root, 'big.gpg', encryptTo(ecc.fingerprint, plain, ['--compress-algo', 'none']));
      const deps = fsDeps(root, memoryKeys([ecc.privateKey]));
      const realGet = deps.store.get.bind(deps.store);
      deps.store.get = async (bucket, key) => {
        const object = await realGet(bucket, key);
        if (!object || bucket !== SETTINGS.buckets.upload) return object;
        let sent = 0;
        const dying = Readable.from(
          (async function* () {
            for await (const chunk of object.body as AsyncIterable<Buffer>) {
              sent += chunk.length;
              if (sent > 1_000_000)
                throw Object.assign(new Error('connection reset mid-stream'), { code: 'ECONNRESET' });
              yield chunk;
            }
          })(),
        );
        return { ...object, body: dying as NodeJS.ReadableStream };
      };
      await expect(ingest(deps, SETTINGS, 'big.gpg')).rejects.toMatchObject({ fault: 'transient', quarantined: false });
      // Transient: no partial object, no quarantine record, no tag.
      expect(await rawKeys(root)).toEqual([]);
      expect(await deps.store.getTags(SETTINGS.buckets.upload, 'big.gpg')).toEqual({});
      deps.store.get = realGet;
      expect((await ingest(deps, SETTINGS, 'big.gpg')).status).toBe('processed');
      expect((await rawFile(root, 'big')).equals(plain)).toBe(true);
    });
  });
});

describe('ingest: checksums, duplicates, order, names', () => {
  it('verifies a sidecar that arrived first, in the same pass, and stores it beside the plaintext', async () => {
    await withTempDir(async (root) => {
      await writeFile(join(root, 'plain.bin'), plain);
      const deps = fsDeps(root, memoryKeys([ecc.privateKey]));
      await upload(root, 'd/plain.bin.sha256', execFileSync('sha256sum', ['plain.bin'], { cwd: root }));
      expect(await ingest(deps, SETTINGS, 'd/plain.bin.sha256')).toMatchObject({
        status: 'waiting',
        reason: expect.stringContaining('no upload named d/plain.bin or d/plain.bin.gpg'),
      });
      await upload(root, 'd/plain.bin.gpg', encryptTo(ecc.fingerprint, plain));
      expect(await ingest(deps, SETTINGS, 'd/plain.bin.gpg')).toMatchObject({
        status: 'processed',
        checksum: 'sha256',
      });
      expect((await rawKeys(root)).sort()).toEqual(['d/plain.bin', 'd/plain.bin.sha256']);
      execFileSync('sha256sum', ['-c', 'plain.bin.sha256'], { cwd: join(root, SETTINGS.buckets.raw, 'd') });
    });
  });

  it('verifies a sidecar that arrives after its file (md5, BSD format)', async () => {
    await withTempDir(async (root) => {
      await writeFile(join(root, 'plain.bin'), plain);
      const deps = fsDeps(root, memoryKeys([ecc.privateKey]));
      await upload(root, 'plain.bin.gpg', encryptTo(ecc.fingerprint, plain));
      await ingest(deps, SETTINGS, 'plain.bin.gpg');
      await upload(root, 'plain.bin.md5', execFileSync('md5sum', ['--tag', 'plain.bin'], { cwd: root }));
      expect(await ingest(deps, SETTINGS, 'plain.bin.md5')).toMatchObject({ status: 'sidecar-stored', verified: true });
    });
  });

  it('duplicate events produce the same output once', async () => {
    await withTempDir(async (root) => {
      await upload(root, 'x.gpg', encryptTo(ecc.fingerprint, plain));
      const deps = fsDeps(root, memoryKeys([ecc.privateKey]));
      const [first, second] = await Promise.all([ingest(deps, SETTINGS, 'x.gpg'), ingest(deps, SETTINGS, 'x.gpg')]);
      expect([first.status, second.status].sort()).toEqual(['processed', 'processed'].sort());
      const third = await ingest(deps, SETTINGS, 'x.gpg');
      expect(third).toMatchObject({ status: 'skipped', reason: 'already processed' });
      expect(await rawKeys(root)).toEqual(['x']);
    });
  });

  it("a job for an older version that finishes after the newer version's job publishes nothing over it", async () => {
    await withTempDir(async (root) => {
      const older = randomBytes(3 * 1024 * 1024);
      const newer = Buffer.from('the partner uploaded this one second\n');
      await upload(root, 'r.csv.gpg', encryptTo(ecc.fingerprint, older));
      const deps = fsDeps(root, memoryKeys([ecc.privateKey]));
      // The store of the older version's job: once it has opened its upload, the partner uploads again (a new file
      // renamed into place) and the newer version's job runs to the end, as a second function would.
      const racing = {
        ...deps,
        store: new Proxy(deps.store, {
          get(target, name, receiver) {
            if (name !== 'get') return Reflect.get(target, name, receiver);
            return async (bucket: string, key: string) => {
              const object = await target.get(bucket, key);
              if (bucket === SETTINGS.buckets.upload && key === 'r.csv.gpg') {
                const path = join(root, SETTINGS.buckets.upload, 'r.csv.gpg');
                await writeFile(`${path}.new`, encryptTo(ecc.fingerprint, newer));
                await rename(`${path}.new`, path);
                expect(await ingest(deps, SETTINGS, 'r.csv.gpg')).toMatchObject({ status: 'processed' });
              }
              return object;
            };
          },
        }),
      };
      expect(await ingest(racing, SETTINGS, 'r.csv.gpg')).toMatchObject({
        status: 'skipped',
        reason: expect.stringContaining('replaced while it was processed'),
      });
      expect(await rawFile(root, 'r.csv')).toEqual(newer);
      expect(await ingest(deps, SETTINGS, 'r.csv.gpg')).toMatchObject({
        status: 'skipped',
        reason: 'already processed',
      });
    });
  });

  it.each([
    ['x.csv.pgp', 'x.csv.gpg'],
    ['y.csv', 'y.csv.gpg'],
  ])(
    'two uploads naming one output (%s, then %s): a late event for the first does not put it back',
    async (first, second) => {
      await withTempDir(async (root) => {
        const output = first.replace(/\.(gpg|pgp)$/, '');
        const [a, b, c] = [Buffer.from('first\n'), Buffer.from('second\n'), Buffer.from('first, again\n')];
        const body = (key: string, data: Buffer) => (key.endsWith('.csv') ? data : encryptTo(ecc.fingerprint, data));
        const deps = fsDeps(root, memoryKeys([ecc.privateKey]));
        await upload(root, first, body(first, a));
        expect(await ingest(deps, SETTINGS, first)).toMatchObject({ status: 'processed', output });
        await upload(root, second, body(second, b));
        expect(await ingest(deps, SETTINGS, second)).toMatchObject({ status: 'processed', output });
        expect(await ingest(deps, SETTINGS, first)).toMatchObject({
          status: 'skipped',
          reason: `already processed; ${output} was since published from ${second}`,
        });
        expect(await rawFile(root, output)).toEqual(b);
        // A new version of the first is new content: it is processed and holds the output.
        await upload(root, first, body(first, c));
        expect(await ingest(deps, SETTINGS, first)).toMatchObject({ status: 'processed', output });
        expect(await rawFile(root, output)).toEqual(c);
      });
    },
  );

  it('an event for a file that is gone is skipped', async () => {
    await withTempDir(async (root) => {
      expect(await ingest(fsDeps(root, memoryKeys([])), SETTINGS, 'never.gpg')).toMatchObject({ status: 'skipped' });
    });
  });

  it.each(['with space.csv', 'plus+sign.csv', 'per%25cent.csv', 'ünïcødé ✓.csv', 'a/b/c/deep.csv'])(
    'name %s',
    async (name) => {
      await withTempDir(async (root) => {
        await upload(root, `${name}.pgp`, encryptTo(ecc.fingerprint, plain));
        expect(await ingest(fsDeps(root, memoryKeys([ecc.privateKey])), SETTINGS, `${name}.pgp`)).toMatchObject({
          status: 'processed',
          output: name,
        });
        expect((await rawFile(root, name)).equals(plain)).toBe(true);
      });
    },
  );
});

describe('egress', () => {
  it.each(['sha256', 'md5'] as const)(
    'encrypts to the partner; gpg decrypts it and %ssum -c passes on the sidecar',
    async (checksum) => {
      await withTempDir(async (root) => {
        const path = join(root, SETTINGS.buckets.export, 'out', 'statement 2026.csv');
        await mkdir(join(path, '..'), { recursive: true });
        await writeFile(path, plain);
        const deps = fsDeps(root, memoryKeys([], partner.publicKey));
        const outcome = await egress(deps, { ...SETTINGS, checksum }, 'out/statement 2026.csv');
        expect(outcome).toMatchObject({
          status: 'encrypted',
          output: 'out/statement 2026.csv.gpg',
          sidecar: `out/statement 2026.csv.${checksum}`,
        });
        const download = join(root, SETTINGS.buckets.download, 'out');
        const decrypted = gnupg.gpg(['--decrypt', join(download, 'statement 2026.csv.gpg')]);
        expect(decrypted.equals(plain)).toBe(true);
        await writeFile(join(download, 'statement 2026.csv'), decrypted);
        execFileSync(`${checksum}sum`, ['-c', `statement 2026.csv.${checksum}`], { cwd: download });
        expect(await egress(deps, { ...SETTINGS, checksum }, 'out/statement 2026.csv')).toMatchObject({
          status: 'skipped',
          reason: 'already encrypted',
        });
      });
    },
  );

  it('checksum none writes no sidecar', async () => {
    await withTempDir(async (root) => {
      await mkdir(join(root, SETTINGS.buckets.export), { recursive: true });
      await writeFile(join(root, SETTINGS.buckets.export, 'a.txt'), 'x');
      const outcome = await egress(
        fsDeps(root, memoryKeys([], partner.publicKey)),
        { ...SETTINGS, checksum: 'none' },
        'a.txt',
      );
      expect(outcome).toMatchObject({ status: 'encrypted', sidecar: null });
      expect(await readdir(join(root, SETTINGS.buckets.download))).toEqual(['a.txt.gpg']);
    });
  });
});
