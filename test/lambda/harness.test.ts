import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startWorld, type World } from './harness/world.js';

/**
 * The AWS path as a whole: the built bundles (dist/lambda/*.zip, unzipped) run in warm containers against s3rver,
 * with the rendered client stack's role policies enforced on every S3 call and every secret read, fed SQS batches of
 * Transfer Family upload-completed events (ingress) and S3 notifications (egress). Each case asserts the batch
 * response, that IAM denied nothing (or exactly what it should), and the final state of every bucket.

 */

let world: World;
beforeAll(async () => {
  world = await startWorld();
}, 120_000);
afterAll(async () => world?.stop());
beforeEach(async () => {
  await world.platform.reset();
  world.loadSecrets();
});

const PLAIN = 'id,amount\n1,100\n2,250\n';
const processed = { 'sftpctl-status': 'processed' };
const failures = (ids: string[]) => ({ batchItemFailures: ids.map((itemIdentifier) => ({ itemIdentifier })) });
const noFailures = { batchItemFailures: [] };

/** A partner upload: the object lands in the upload bucket, Transfer's event reaches the ingress queue. */
async function upload(key: string, body: string | Buffer, options: { receiveCount?: number } = {}) {
  const p = world.platform;
  await p.put('upload', key, body);
  const result = await p.invoke('IngressFunction', [
    { body: await p.uploadCompleted(key), receiveCount: options.receiveCount },
  ]);
  expect(result.error).toBeUndefined();
  return result;
}

/** The same event delivered again (SQS retries a failed message; events also arrive twice on their own). */
async function redeliver(key: string, receiveCount: number) {
  const p = world.platform;
  return p.invoke('IngressFunction', [{ body: await p.uploadCompleted(key), receiveCount }]);
}

const text = (body: string) => ({ text: body, sha256: world.sha256(body) });

function quarantineRecord(state: Awaited<ReturnType<World['platform']['state']>>, key: string) {
  const record = state.raw[`.sftpctl-quarantine/${key}.json`];
  return record?.text ? (JSON.parse(record.text) as { key: string; reason: { code: string } }) : undefined;
}

describe('ingress with real bundles and enforced IAM', () => {
  it('usual order (data first, sidecar last): published, then verified; both originals processed', async () => {
    const p = world.platform;
    const cipher = world.encrypt(PLAIN);
    const sidecar = world.sidecar(PLAIN, 'orders.csv');
    expect((await upload('orders.csv.gpg', cipher)).response).toEqual(noFailures);
    expect((await upload('orders.csv.sha256', sidecar)).response).toEqual(noFailures);
    expect(p.denied()).toEqual([]);
    expect(await p.state()).toEqual({
      upload: {
        'orders.csv.gpg': { sha256: world.sha256(cipher), tags: processed },
        'orders.csv.sha256': { ...text(sidecar), tags: processed },
      },
      raw: { 'orders.csv': text(PLAIN), 'orders.csv.sha256': text(sidecar) },
      export: {},
      download: {},
    });
  });

  it('sidecar first: the file is verified before it is published, and what goes to raw starts untagged', async () => {
    const p = world.platform;
    const cipher = world.encrypt(PLAIN);
    const sidecar = world.sidecar(PLAIN, 'orders.csv');
    const first = await upload('orders.csv.sha256', sidecar);
    expect(first.response).toEqual(noFailures);
    expect(first.logs).toContainEqual(
      expect.objectContaining({ event: 'sidecar-unmatched', key: 'orders.csv.sha256' }),
    );
    const second = await upload('orders.csv.gpg', cipher);
    expect(second.response).toEqual(noFailures);
    expect(second.logs).toContainEqual(expect.objectContaining({ event: 'processed', checksum: 'sha256' }));
    expect(p.denied()).toEqual([]);
    // The sidecar goes to raw as the bytes that were verified (a PutObject, never a CopyObject of whatever is in upload
    // by then): a new object, with no status tag carried over.
    expect(p.checks.filter((check) => check.operation === 'CopyObject')).toEqual([]);
    const state = await p.state();
    expect(state.raw).toEqual({ 'orders.csv': text(PLAIN), 'orders.csv.sha256': text(sidecar) });
    expect(state.upload['orders.csv.gpg']).toEqual({ sha256: world.sha256(cipher), tags: processed });
    expect(state.upload['orders.csv.sha256']?.text).toBe(sidecar);
    expect(state.export).toEqual({});
    expect(state.download).toEqual({});
  });

  it('sidecar first, final state: the waiting sidecar settles to processed, its tag is not copied into raw', async () => {
    const p = world.platform;
    const sidecar = world.sidecar(PLAIN, 'orders.csv');
    await upload('orders.csv.sha256', sidecar);
    await upload('orders.csv.gpg', world.encrypt(PLAIN));
    const state = await p.state();
    expect(state.upload['orders.csv.sha256']).toEqual({ ...text(sidecar), tags: processed });
    expect(state.raw['orders.csv.sha256']).toEqual(text(sidecar));
  });

  it('mismatch, sidecar first: nothing is published, the upload is quarantined once with a reason, never retried', async () => {
    const p = world.platform;
    const cipher = world.encrypt(PLAIN);
    const wrong = world.sidecar('something else\n', 'orders.csv');
    await upload('orders.csv.sha256', wrong);
    const result = await upload('orders.csv.gpg', cipher);
    // A permanent failure: the message is consumed (a retry cannot succeed) and the failure is a `failed` event,
    // which the client's failure metric alarms on at once.
    expect(result.response).toEqual(noFailures);
    expect(result.logs).toContainEqual(
      expect.objectContaining({ event: 'failed', code: 'CHECKSUM_MISMATCH', fault: 'permanent', quarantined: true }),
    );
    const again = await redeliver('orders.csv.gpg', 2);
    expect(again.response).toEqual(noFailures);
    expect(p.denied()).toEqual([]);
    const state = await p.state();
    expect(Object.keys(state.raw)).toEqual(['.sftpctl-quarantine/orders.csv.gpg.json']);
    expect(quarantineRecord(state, 'orders.csv.gpg')).toMatchObject({
      key: 'orders.csv.gpg',
      reason: { code: 'CHECKSUM_MISMATCH' },
    });
    expect(state.upload['orders.csv.gpg']).toEqual({
      sha256: world.sha256(cipher),
      tags: { 'sftpctl-status': 'quarantined', 'sftpctl-reason': 'CHECKSUM_MISMATCH' },
    });
    expect(state.upload['orders.csv.sha256']?.text).toBe(wrong);
  });

  it('mismatch, sidecar last: the copy published unverified is taken back out of raw', async () => {
    const p = world.platform;
    const cipher = world.encrypt(PLAIN);
    const wrong = world.sidecar('something else\n', 'orders.csv');
    expect((await upload('orders.csv.gpg', cipher)).response).toEqual(noFailures);
    const result = await upload('orders.csv.sha256', wrong);
    expect(result.response).toEqual(noFailures);
    expect(result.logs).toContainEqual(expect.objectContaining({ event: 'failed', quarantined: true }));
    expect(p.denied()).toEqual([]);
    const state = await p.state();
    expect(state.raw['orders.csv']).toBeUndefined();
    expect(state.raw['orders.csv.sha256']).toBeUndefined();
    expect(quarantineRecord(state, 'orders.csv.gpg')?.reason.code).toBe('CHECKSUM_MISMATCH');
    expect(state.upload['orders.csv.gpg']?.tags).toEqual({
      'sftpctl-status': 'quarantined',
      'sftpctl-reason': 'CHECKSUM_MISMATCH',
    });
  });

  for (const [name, damage] of [
    ['tampered', (cipher: Buffer) => Buffer.concat([cipher.subarray(0, -40), Buffer.alloc(40, 0x41)])],
    ['truncated', (cipher: Buffer) => cipher.subarray(0, Math.floor(cipher.length * 0.7))],
  ] as const) {
    it(`${name} ciphertext: nothing is published, the upload is quarantined, the message is not retried`, async () => {
      const p = world.platform;
      const big = `${'x'.repeat(200_000)}\n`;
      const cipher = damage(world.encrypt(big));
      const result = await upload('batch.dat.gpg', cipher);
      expect(result.response).toEqual(noFailures);
      expect(result.logs).toContainEqual(expect.objectContaining({ event: 'failed', quarantined: true }));
      expect(p.denied()).toEqual([]);
      const state = await p.state();
      expect(Object.keys(state.raw)).toEqual(['.sftpctl-quarantine/batch.dat.gpg.json']);
      expect(state.upload['batch.dat.gpg']?.tags?.['sftpctl-status']).toBe('quarantined');
    });
  }

  it('wrong key: nothing is published, the reason names the key problem', async () => {
    const p = world.platform;
    const cipher = world.encrypt(PLAIN, 'stranger');
    const result = await upload('orders.csv.gpg', cipher);
    expect(result.response).toEqual(noFailures);
    expect(result.logs).toContainEqual(expect.objectContaining({ event: 'failed', quarantined: true }));
    expect(p.denied()).toEqual([]);
    const state = await p.state();
    expect(Object.keys(state.raw)).toEqual(['.sftpctl-quarantine/orders.csv.gpg.json']);
    expect(quarantineRecord(state, 'orders.csv.gpg')?.reason.code).toMatch(/KEY/);
  });

  it('awkward key names (spaces, plus, percent, unicode, folders) arrive under exactly their names', async () => {
    const p = world.platform;
    const names = ['in/Q4 report+final (1)%.csv', 'données/été 2026.csv', 'a&b=c;d.csv'];
    for (const name of names) {
      const sidecar = world.sidecar(PLAIN, name.split('/').at(-1)!);
      expect((await upload(`${name}.gpg`, world.encrypt(PLAIN))).response).toEqual(noFailures);
      const result = await upload(`${name}.sha256`, sidecar);
      expect({ name, logs: result.logs.filter((log) => log.event === 'failed') }).toEqual({ name, logs: [] });
    }
    expect(p.denied()).toEqual([]);
    const state = await p.state();
    expect(Object.keys(state.raw).sort()).toEqual(names.flatMap((name) => [name, `${name}.sha256`]).sort());
    for (const name of names) expect(state.raw[name]).toEqual(text(PLAIN));
    for (const key of Object.keys(state.upload)) expect(state.upload[key]?.tags).toEqual(processed);
  });

  it('duplicates: the same event twice in one batch and again later changes nothing and fails nothing', async () => {
    const p = world.platform;
    const cipher = world.encrypt(PLAIN);
    await p.put('upload', 'orders.csv.gpg', cipher);
    const body = await p.uploadCompleted('orders.csv.gpg');
    const batch = await p.invoke('IngressFunction', [{ body }, { body }]);
    expect(batch.response).toEqual(noFailures);
    const before = await p.state();
    const later = await p.invoke('IngressFunction', [{ body, receiveCount: 1 }]);
    expect(later.response).toEqual(noFailures);
    expect(later.logs).toContainEqual(expect.objectContaining({ event: 'skipped', reason: 'already processed' }));
    expect(await p.state()).toEqual(before);
    expect(before.raw).toEqual({ 'orders.csv': text(PLAIN) });
    expect(p.denied()).toEqual([]);
  });

  it('a batch with one bad file: the bad one is quarantined (and logged failed), the good one published, none retried', async () => {
    const p = world.platform;
    await p.put('upload', 'good.csv.gpg', world.encrypt(PLAIN));
    await p.put('upload', 'bad.csv.gpg', world.encrypt(PLAIN, 'stranger'));
    const result = await p.invoke('IngressFunction', [
      { body: await p.uploadCompleted('good.csv.gpg'), messageId: 'good' },
      { body: await p.uploadCompleted('bad.csv.gpg'), messageId: 'bad' },
    ]);
    expect(result.response).toEqual(noFailures);
    expect(result.logs).toContainEqual(
      expect.objectContaining({ event: 'failed', messageId: 'bad', quarantined: true }),
    );
    const state = await p.state();
    expect(Object.keys(state.raw).sort()).toEqual(['.sftpctl-quarantine/bad.csv.gpg.json', 'good.csv']);
  });

  it('secrets not loaded yet: the message fails (and is retried), nothing is published; once loaded, the retry publishes', async () => {
    const p = world.platform;
    world.unloadSecrets();
    await p.coldStart('IngressFunction');
    const cipher = world.encrypt(PLAIN);
    const result = await upload('orders.csv.gpg', cipher);
    expect(result.response).toEqual(failures(result.messageIds));
    expect(p.secrets.calls.map((call) => call.outcome)).toContain('no value');
    expect((await p.state()).raw['orders.csv']).toBeUndefined();
    world.loadSecrets();
    const retry = await redeliver('orders.csv.gpg', 2);
    expect(retry.response).toEqual(noFailures);
    expect(p.denied()).toEqual([]);
    const state = await p.state();
    expect(state.raw['orders.csv']).toEqual(text(PLAIN));
    expect(state.upload['orders.csv.gpg']?.tags).toEqual(processed);
  });

  it('secrets not loaded yet, final state: a transient failure leaves no quarantine record and no tag', async () => {
    const p = world.platform;
    world.unloadSecrets();
    await p.coldStart('IngressFunction');
    await upload('orders.csv.gpg', world.encrypt(PLAIN));
    expect(Object.keys((await p.state()).raw)).toEqual([]);
    world.loadSecrets();
    await redeliver('orders.csv.gpg', 2);
    expect(Object.keys((await p.state()).raw)).toEqual(['orders.csv']);
  });
});

describe('egress with real bundles and enforced IAM', () => {
  it('an export is encrypted for the partner with a checksum sidecar; awkward names survive S3 key encoding', async () => {
    const p = world.platform;
    const names = ['statement.csv', 'out/Q4 report+final (1)%.csv'];
    for (const name of names) {
      await p.put('export', name, PLAIN);
      const result = await p.invoke('EgressFunction', [{ body: await p.exportCreated(name) }]);
      expect(result.error).toBeUndefined();
      expect(result.response).toEqual(noFailures);
    }
    expect(p.denied()).toEqual([]);
    const state = await p.state();
    expect(Object.keys(state.download).sort()).toEqual(
      names.flatMap((name) => [`${name}.gpg`, `${name}.sha256`]).sort(),
    );
    for (const name of names) {
      expect(state.export[name]).toEqual({ ...text(PLAIN), tags: { 'sftpctl-status': 'encrypted' } });
      expect(state.download[`${name}.sha256`]?.text).toBe(world.sidecar(PLAIN, name.split('/').at(-1)!));
    }
    expect(state.upload).toEqual({});
    expect(state.raw).toEqual({});
  });

  it('the partner decrypts what egress published (GnuPG), and a duplicate event changes nothing', async () => {
    const p = world.platform;
    await p.put('export', 'statement.csv', PLAIN);
    const body = await p.exportCreated('statement.csv');
    expect((await p.invoke('EgressFunction', [{ body }])).response).toEqual(noFailures);
    const before = await p.state();
    const again = await p.invoke('EgressFunction', [{ body }]);
    expect(again.response).toEqual(noFailures);
    expect(again.logs).toContainEqual(expect.objectContaining({ event: 'skipped', reason: 'already encrypted' }));
    expect(await p.state()).toEqual(before);
    const plaintext = world.decryptAsPartner(await p.get('download', 'statement.csv.gpg'));
    expect(plaintext.toString()).toBe(PLAIN);
    expect(before.download['statement.csv.sha256']?.text).toBe(world.sidecar(plaintext, 'statement.csv'));
    expect(p.denied()).toEqual([]);
  });

  it('partner key not loaded yet: the message fails, nothing is published; the retry after loading publishes', async () => {
    const p = world.platform;
    world.unloadSecrets();
    await p.coldStart('EgressFunction');
    await p.put('export', 'statement.csv', PLAIN);
    const body = await p.exportCreated('statement.csv');
    const first = await p.invoke('EgressFunction', [{ body }]);
    expect(first.response).toEqual(failures(first.messageIds));
    expect((await p.state()).download).toEqual({});
    world.loadSecrets();
    const retry = await p.invoke('EgressFunction', [{ body, receiveCount: 2 }]);
    expect(retry.response).toEqual(noFailures);
    expect(Object.keys((await p.state()).download).sort()).toEqual(['statement.csv.gpg', 'statement.csv.sha256']);
    expect(p.denied()).toEqual([]);
  });
});

describe('the sweeper (ingress bundle, scheduled) with enforced IAM', () => {
  it('a lost upload-completed event: the sweep re-queues the file, ingress processes it, the next sweep finds nothing', async () => {
    const p = world.platform;
    // Delivered normally: processed and tagged, so never swept.
    await upload('seen.csv.gpg', world.encrypt(PLAIN));
    // Its event was lost: only the object exists. A folder marker is not a partner file.
    await p.put('upload', 'lost report.csv.gpg', world.encrypt(PLAIN));
    await p.put('upload', 'in/', '');
    const sweep = await p.sweep();
    expect(sweep.error).toBeUndefined();
    expect(sweep.response).toEqual({ found: 1, expired: 0 });
    expect(sweep.logs).toContainEqual(
      expect.objectContaining({ event: 'swept', found: 1, keys: ['lost report.csv.gpg'] }),
    );
    expect(sweep.requeued).toHaveLength(1);
    const processedAgain = await p.invoke(
      'IngressFunction',
      sweep.requeued.map((body) => ({ body })),
    );
    expect(processedAgain.response).toEqual(noFailures);
    expect(p.denied()).toEqual([]);
    expect(p.sqs.calls.every((call) => call.allowed && call.principal === 'SweeperFunctionRole')).toBe(true);
    const state = await p.state();
    expect(Object.keys(state.raw).sort()).toEqual(['lost report.csv', 'seen.csv']);
    expect(state.raw['lost report.csv']).toEqual(text(PLAIN));
    expect(state.upload['lost report.csv.gpg']?.tags).toEqual(processed);
    expect((await p.sweep()).response).toEqual({ found: 0, expired: 0 });
  });

  it('quarantined and waiting uploads are marked, so the sweep leaves them alone', async () => {
    const p = world.platform;
    await upload('bad.csv.gpg', world.encrypt(PLAIN, 'stranger'));
    await upload('later.csv.sha256', world.sidecar(PLAIN, 'later.csv'));
    const sweep = await p.sweep();
    expect(sweep.response).toEqual({ found: 0, expired: 0 });
    expect(sweep.requeued).toEqual([]);
    expect(p.denied()).toEqual([]);
  });
});

describe('the harness catches a role that lacks what the pipeline calls', () => {
  it('a pipeline S3 call missing from the role (s3:PutObject on raw) fails the upload, names the denial, and is retried, not quarantined', async () => {
    const p = world.platform;
    const original = p.policies.get('IngressFunctionRole')!;
    const stripped = structuredClone(original);
    for (const statement of stripped[0]!.Statement)
      if ([statement.Resource].flat().some((resource) => String(resource).endsWith('-raw/*')))
        statement.Action = [statement.Action ?? []].flat().filter((action) => action !== 's3:PutObject');
    p.policies.set('IngressFunctionRole', stripped);
    try {
      const result = await upload('orders.csv.gpg', world.encrypt(PLAIN));
      expect(result.response).toEqual(failures(result.messageIds));
      expect(p.denied().map((check) => `${check.action} ${check.resource}`)).toContain(
        's3:PutObject arn:aws:s3:::acme-dev-bank-raw/orders.csv',
      );
      expect(result.logs).toContainEqual(
        expect.objectContaining({ event: 'failed', code: 'S3_ACCESS_DENIED', fault: 'transient' }),
      );
      expect(Object.keys((await p.state()).raw)).toEqual([]);
    } finally {
      p.policies.set('IngressFunctionRole', original);
    }
    const retried = await redeliver('orders.csv.gpg', 2);
    expect(retried.response).toEqual(noFailures);
    expect(Object.keys((await p.state()).raw)).toEqual(['orders.csv']);
  });

  it('every S3 action the ingress role grants is needed: taking any one away makes some case fail', async () => {
    const p = world.platform;
    const original = p.policies.get('IngressFunctionRole')!;
    const granted = original[0]!.Statement.flatMap((statement, index) =>
      [statement.Action ?? []]
        .flat()
        .filter((action) => action.startsWith('s3:') && action !== 's3:AbortMultipartUpload')
        .map((action) => ({ index, action })),
    );
    expect(granted.length).toBeGreaterThan(5);
    const caught: string[] = [];
    for (const { index, action } of granted) {
      await p.reset();
      const stripped = structuredClone(original);
      const statement = stripped[0]!.Statement[index]!;
      statement.Action = [statement.Action ?? []].flat().filter((name) => name !== action);
      p.policies.set('IngressFunctionRole', stripped);
      try {
        // A scenario that exercises every declared operation: sidecar first, then a late mismatching sidecar.
        await upload('a.csv.sha256', world.sidecar(PLAIN, 'a.csv'));
        const a = await upload('a.csv.gpg', world.encrypt(PLAIN));
        await upload('b.csv.gpg', world.encrypt(PLAIN));
        const b = await upload('b.csv.sha256', world.sidecar('other\n', 'b.csv'));
        await upload('missing.csv.gpg', world.encrypt(PLAIN));
        const denied = p.denied();
        if (denied.length > 0 || a.response?.batchItemFailures.length || !b.response?.batchItemFailures.length)
          caught.push(`${statement.Sid}:${action}`);
      } finally {
        p.policies.set('IngressFunctionRole', original);
      }
    }
    expect(caught).toEqual(granted.map(({ index, action }) => `${original[0]!.Statement[index]!.Sid}:${action}`));
  }, 120_000);
});
