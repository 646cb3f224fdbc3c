import { execFile } from 'node:child_process';
import { createHash, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ISOLATED_SSH_OPTIONS } from '../../bench/openssh-client.mjs';
import { SftpctlError } from '../../src/core/errors.js';
import { algorithmsFor, SERVER_ALGORITHMS } from '../../src/local/sftp/algorithms.js';
import { hybridKex, type Kem } from '../../src/local/sftp/kex-hybrid.js';
import { loadMlKem768 } from '../../src/local/sftp/kex-mlkem768.js';
import { POST_QUANTUM_KEX, registerPostQuantumKex } from '../../src/local/sftp/kex-registry.js';
import {
  decode,
  encode,
  SNTRUP761,
  SNTRUP761_CIPHERTEXT_BYTES,
  SNTRUP761_PUBLIC_KEY_BYTES,
  sntrup761Decapsulate,
  sntrup761Encapsulate,
  sntrup761Keygen,
} from '../../src/local/sftp/kex-sntrup761.js';
import { runSftp } from '../helpers/sftp.js';
import { type KexHarness, startKexHarness } from './kex-harness.js';

/**
 * The post-quantum hybrid key exchanges: sntrup761 and the hybrid construction on their own, then the server against
 * a real OpenSSH client (which speaks sntrup761x25519 but not ML-KEM: Debian 12 ships OpenSSH 9.2) and against ssh2's
 * Client with our client-side implementations registered through the same ssh2 hook.
 */

const requireModule = createRequire(import.meta.url);

describe('sntrup761', () => {
  it('Encode/Decode round-trip any values below their moduli', () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.integer({ min: 1, max: 16383 }), { minLength: 1, maxLength: 40 })
          .chain((moduli) =>
            fc.tuple(fc.constant(moduli), fc.tuple(...moduli.map((m) => fc.integer({ min: 0, max: m - 1 })))),
          ),
        ([moduli, values]) => {
          expect(decode(encode(values, moduli), moduli)).toEqual(values);
        },
      ),
    );
  });

  it('has the sizes of the specification (1158-byte keys, 1039-byte ciphertexts)', () => {
    expect(encode(new Array(761).fill(4590), new Array(761).fill(4591))).toHaveLength(1158);
    expect(encode(new Array(761).fill(1530), new Array(761).fill(1531))).toHaveLength(1007);
    const { publicKey } = sntrup761Keygen();
    expect(publicKey).toHaveLength(SNTRUP761_PUBLIC_KEY_BYTES);
    expect(sntrup761Encapsulate(publicKey).cipherText).toHaveLength(SNTRUP761_CIPHERTEXT_BYTES);
  });

  it('decapsulates what it encapsulates; a changed ciphertext yields an unrelated key (implicit rejection)', () => {
    for (let round = 0; round < 3; round++) {
      const { publicKey, secretKey } = sntrup761Keygen();
      const { cipherText, sharedSecret } = sntrup761Encapsulate(publicKey);
      expect(sharedSecret).toHaveLength(32);
      expect(sntrup761Decapsulate(cipherText, secretKey).equals(sharedSecret)).toBe(true);
      const tampered = Buffer.from(cipherText);
      tampered[round * 100]! ^= 1;
      const rejected = sntrup761Decapsulate(tampered, secretKey);
      expect(rejected.equals(sharedSecret)).toBe(false);
      expect(sntrup761Decapsulate(tampered, secretKey).equals(rejected)).toBe(true); // deterministic
    }
  });

  it('refuses a public key or ciphertext of the wrong size', () => {
    expect(() => sntrup761Encapsulate(Buffer.alloc(1157))).toThrow(/public key is 1157 bytes, expected 1158/);
    const { secretKey } = sntrup761Keygen();
    expect(() => sntrup761Decapsulate(Buffer.alloc(12), secretKey)).toThrow(/ciphertext is 12 bytes/);
  });
});

describe('the hybrid construction', () => {
  const kems: [string, Kem][] = [
    ['ML-KEM-768', loadMlKem768()],
    ['sntrup761', SNTRUP761],
  ];

  it.each(kems)('%s: client and server agree on K = HASH(KEM secret ‖ X25519 secret)', (_, kem) => {
    const method = hybridKex('test', kem === SNTRUP761 ? 'sha512' : 'sha256', () => kem);
    const client = method.client();
    expect(client.init).toHaveLength(kem.publicKeyBytes + 32);
    const server = method.server(client.init);
    expect(server.reply).toHaveLength(kem.cipherTextBytes + 32);
    const k = client.finish(server.reply);
    expect(k.equals(server.secret)).toBe(true);
    expect(k).toHaveLength(kem === SNTRUP761 ? 64 : 32);
  });

  it.each([
    ['mlkem768x25519-sha256', 'sha256'],
    ['sntrup761x25519-sha512', 'sha512'],
  ] as const)(
    '%s server: S_REPLY = ciphertext ‖ X25519 key, K = %s(KEM secret ‖ X25519 secret), checked independently',
    (name, hash) => {
      // The client half is built here from the KEM and node's X25519 directly, not through hybridKex.
      const kem = name.startsWith('mlkem') ? loadMlKem768() : SNTRUP761;
      const kemKeys = kem.keygen();
      const x25519 = generateKeyPairSync('x25519');
      const x25519Public = x25519.publicKey.export({ type: 'spki', format: 'der' }).subarray(-32);
      const { reply, secret } = POST_QUANTUM_KEX[name].server(Buffer.concat([kemKeys.publicKey, x25519Public]));
      expect(reply).toHaveLength(kem.cipherTextBytes + 32);
      const kemSecret = kemKeys.decapsulate(reply.subarray(0, kem.cipherTextBytes));
      const serverX25519 = createPublicKey({
        key: Buffer.concat([
          x25519.publicKey.export({ type: 'spki', format: 'der' }).subarray(0, 12),
          reply.subarray(-32),
        ]),
        type: 'spki',
        format: 'der',
      });
      const x25519Secret = diffieHellman({ privateKey: x25519.privateKey, publicKey: serverX25519 });
      const expected = createHash(hash).update(kemSecret).update(x25519Secret).digest();
      expect(secret.toString('hex')).toBe(expected.toString('hex'));
    },
  );

  it('refuses a client key or server reply of the wrong size, a low-order X25519 point, an unreduced ML-KEM key', () => {
    const method = POST_QUANTUM_KEX['sntrup761x25519-sha512'];
    expect(() => method.server(Buffer.alloc(100))).toThrow(/client key is 100 bytes, expected 1190/);
    const client = method.client();
    expect(() => client.finish(Buffer.alloc(10))).toThrow(/server reply is 10 bytes, expected 1071/);
    const zeroPoint = Buffer.concat([client.init.subarray(0, SNTRUP761_PUBLIC_KEY_BYTES), Buffer.alloc(32)]);
    expect(() => method.server(zeroPoint)).toThrow();
    // An ML-KEM key whose coefficients are not reduced mod q fails FIPS 203's input check.
    const mlkem = POST_QUANTUM_KEX['mlkem768x25519-sha256'];
    const validX25519 = mlkem.client().init.subarray(1184);
    expect(() => mlkem.server(Buffer.concat([Buffer.alloc(1184, 0xff), validX25519]))).toThrow();
  });
});

describe('the ssh2 key exchange registry (patches/ssh2+1.17.0.patch)', () => {
  it('is present in the installed ssh2, and registering makes the names valid ssh2 algorithms', () => {
    const kex = requireModule('ssh2/lib/protocol/kex.js') as { registerKeyExchange?: unknown };
    expect(typeof kex.registerKeyExchange).toBe('function');
    registerPostQuantumKex();
    const { SUPPORTED_KEX } = requireModule('ssh2/lib/protocol/constants.js') as { SUPPORTED_KEX: string[] };
    expect(SUPPORTED_KEX).toEqual(expect.arrayContaining(Object.keys(POST_QUANTUM_KEX)));
  });

  it('a missing hook is a clear error, not an ssh2 "Unsupported algorithm" at start', () => {
    let caught: unknown;
    try {
      registerPostQuantumKex({});
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SftpctlError);
    expect((caught as SftpctlError).code).toBe('SSH2_PATCH_MISSING');
    expect((caught as SftpctlError).hint).toMatch(/npm ci/);
  });

  it('the server offers the post-quantum hybrids first, ML-KEM first of all', () => {
    expect(SERVER_ALGORITHMS.kex.slice(0, 3)).toEqual([
      'mlkem768x25519-sha256',
      'sntrup761x25519-sha512',
      'sntrup761x25519-sha512@openssh.com',
    ]);
    expect(algorithmsFor('compatible').kex).toEqual(SERVER_ALGORITHMS.kex);
  });
});

describe('the server negotiates each hybrid', () => {
  let harness: KexHarness;

  beforeAll(async () => {
    harness = await startKexHarness();
  });

  afterAll(async () => {
    await harness?.close();
  });

  it.each(['mlkem768x25519-sha256', 'sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com'])(
    'ssh2 Client with %s: handshake, upload, download',
    async (kex) => {
      expect(await harness.roundTrip(kex, `${kex}.bin`)).toBe(kex);
    },
    60_000,
  );

  it.each(['sntrup761x25519-sha512@openssh.com', 'sntrup761x25519-sha512'])(
    'OpenSSH sftp with KexAlgorithms=%s: put and get',
    async (kex) => {
      const result = await runSftp({
        port: harness.server.port,
        user: 'acme-upload',
        key: harness.userKey,
        cwd: harness.work,
        bind: '127.0.0.1',
        options: ['-v', '-o', 'LogLevel=DEBUG1', '-o', `KexAlgorithms=${kex}`],
        commands: [`put payload.bin ${kex}.openssh`, `get ${kex}.openssh ${kex}.back`],
      });
      expect(result.stderr).toMatch(new RegExp(`kex: algorithm: ${kex.replaceAll('.', '\\.')}\\r?\\n`));
      expect(result.code).toBe(0);
      expect((await readFile(join(harness.work, `${kex}.back`))).equals(harness.payload)).toBe(true);
    },
    60_000,
  );

  it('OpenSSH re-keys with sntrup761 mid-transfer (RekeyLimit=64K): every re-exchange succeeds', async () => {
    const result = await runSftp({
      port: harness.server.port,
      user: 'acme-upload',
      key: harness.userKey,
      cwd: harness.work,
      bind: '127.0.0.1',
      options: [
        '-v',
        '-o',
        'LogLevel=DEBUG1',
        '-o',
        'KexAlgorithms=sntrup761x25519-sha512@openssh.com',
        '-o',
        'RekeyLimit=64K',
      ],
      commands: ['put payload.bin rekey.bin', 'get rekey.bin rekey.back'],
    });
    expect(result.code).toBe(0);
    expect(result.stderr.match(/SSH2_MSG_NEWKEYS received/g)?.length ?? 0).toBeGreaterThan(3);
    expect((await readFile(join(harness.work, 'rekey.back'))).equals(harness.payload)).toBe(true);
  }, 60_000);

  it('OpenSSH 9.2 with its default key exchange list picks sntrup761 (first in its list)', async () => {
    const out = await new Promise<string>((resolve) => {
      execFile(
        'ssh',
        [
          '-v',
          '-F',
          '/dev/null',
          '-i',
          harness.userKey,
          ...ISOLATED_SSH_OPTIONS,
          '-p',
          String(harness.server.port),
          '-s',
          'acme-upload@127.0.0.1',
          'sftp',
        ],
        { timeout: 30_000 },
        (_error, _stdout, stderr) => resolve(String(stderr)),
      ).stdin?.end();
    });
    // Debian's 9.2 knows the IANA name too (`ssh -Q kex`) and lists it first.
    expect(out).toMatch(/kex: algorithm: sntrup761x25519-sha512(@openssh\.com)?\r?\n/);
    expect(out).toMatch(/Authenticated to /);
  }, 60_000);
});
