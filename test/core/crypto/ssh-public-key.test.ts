import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { looksLikeSshPublicKey, parseSshPublicKey, type SshKeyParse } from '../../../src/core/crypto/ssh-public-key.js';

let dir: string;

function keygen(name: string, ...args: string[]): string {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-N', '', '-C', `${name}@test`, '-f', file, ...args], { stdio: 'pipe' });
  return file;
}

function pub(name: string): string {
  return readFileSync(join(dir, `${name}.pub`), 'utf8');
}

/** `ssh-keygen -l` prints `<bits> SHA256:<fp> <comment> (<TYPE>)`. */
function keygenFingerprint(name: string): { bits: number; fingerprint: string } {
  const out = execFileSync('ssh-keygen', ['-l', '-f', join(dir, `${name}.pub`)], { encoding: 'utf8' });
  const [bits, fingerprint] = out.trim().split(/\s+/);
  return { bits: Number(bits), fingerprint: fingerprint! };
}

function failure(result: SshKeyParse): { code: string; message: string; hint: string } {
  if (result.ok) throw new Error(`expected a failure, got a ${result.key.type} key`);
  return result;
}

function sshString(data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, body]);
}

function line(...parts: (Buffer | string)[]): string {
  const type = parts[0] as string;
  return `${type} ${Buffer.concat(parts.map(sshString)).toString('base64')}`;
}

const GOOD = [
  { name: 'ed25519', args: ['-t', 'ed25519'], type: 'ssh-ed25519', bits: 256 },
  { name: 'rsa2048', args: ['-t', 'rsa', '-b', '2048'], type: 'ssh-rsa', bits: 2048 },
  { name: 'rsa3072', args: ['-t', 'rsa', '-b', '3072'], type: 'ssh-rsa', bits: 3072 },
  { name: 'rsa4096', args: ['-t', 'rsa', '-b', '4096'], type: 'ssh-rsa', bits: 4096 },
  { name: 'ecdsa256', args: ['-t', 'ecdsa', '-b', '256'], type: 'ecdsa-sha2-nistp256', bits: 256 },
  { name: 'ecdsa384', args: ['-t', 'ecdsa', '-b', '384'], type: 'ecdsa-sha2-nistp384', bits: 384 },
  { name: 'ecdsa521', args: ['-t', 'ecdsa', '-b', '521'], type: 'ecdsa-sha2-nistp521', bits: 521 },
] as const;

/** A well-formed ssh-dss blob built by hand (p, q, g, y), for OpenSSH builds that no longer generate DSA keys. */
const mpint = (fill: number, length: number) => Buffer.concat([Buffer.from([0x00]), Buffer.alloc(length, fill)]);
const HANDMADE_DSA = line('ssh-dss', mpint(0xc1, 128), mpint(0x9d, 20), mpint(0x83, 128), mpint(0xa7, 128));
let generatedDsa: string | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sftpctl-ssh-'));
  for (const k of GOOD) keygen(k.name, ...k.args);
  keygen('rsa1024', '-t', 'rsa', '-b', '1024');
  try {
    keygen('dsa', '-t', 'dsa');
    generatedDsa = pub('dsa');
  } catch {
    generatedDsa = undefined;
  }
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('parseSshPublicKey on keys made by ssh-keygen', () => {
  for (const k of GOOD) {
    it(`reads ${k.name} with the fingerprint and size ssh-keygen prints`, () => {
      const text = pub(k.name);
      const result = parseSshPublicKey(text);
      if (!result.ok) throw new Error(`${result.code}: ${result.message}`);
      const expected = keygenFingerprint(k.name);
      expect(result.key.type).toBe(k.type);
      expect(result.key.bits).toBe(k.bits);
      expect(result.key.bits).toBe(expected.bits);
      expect(result.key.fingerprint).toBe(expected.fingerprint);
      expect(result.key.comment).toBe(`${k.name}@test`);
      expect(result.key.text).toBe(text.trim());
      expect(Buffer.from(result.key.blob).toString('base64')).toBe(text.split(' ')[1]);
    });
  }

  it('rejects RSA 1024 as weak and names the bit count', () => {
    const f = failure(parseSshPublicKey(pub('rsa1024')));
    expect(f.code).toBe('SSH_KEY_WEAK');
    expect(f.message).toContain('1024 bits');
  });

  it('rejects ssh-dss as weak', () => {
    for (const text of [HANDMADE_DSA, generatedDsa ?? HANDMADE_DSA]) {
      const f = failure(parseSshPublicKey(text));
      expect(f.code).toBe('SSH_KEY_WEAK');
      expect(f.message).toContain('DSA');
    }
  });

  it('rejects an OpenSSH certificate as unsupported', () => {
    execFileSync(
      'ssh-keygen',
      ['-q', '-s', join(dir, 'ed25519'), '-I', 'test', '-n', 'user', join(dir, 'rsa2048.pub')],
      {
        stdio: 'pipe',
      },
    );
    const cert = readFileSync(join(dir, 'rsa2048-cert.pub'), 'utf8');
    const f = failure(parseSshPublicKey(cert));
    expect(f.code).toBe('SSH_KEY_UNSUPPORTED');
    expect(f.message).toContain('certificate');
  });

  it('refuses private key text without echoing any of it', () => {
    const text = readFileSync(join(dir, 'ed25519'), 'utf8');
    const f = failure(parseSshPublicKey(text));
    expect(f.code).toBe('SSH_KEY_IS_PRIVATE');
    expect(f.hint).toContain('.pub');
    const body = text.split('\n').slice(1, -2).join('');
    for (let i = 0; i + 8 <= body.length; i += 8) {
      expect(`${f.message} ${f.hint}`).not.toContain(body.slice(i, i + 8));
    }
  });
});

describe('parseSshPublicKey normalisation', () => {
  it('keeps a multi-word comment and tolerates surrounding whitespace', () => {
    const [type, b64] = pub('ed25519').trim().split(' ');
    const result = parseSshPublicKey(`\n\t  ${type}   ${b64}\tAlice  Partner <a@b.c>  \r\n`);
    if (!result.ok) throw new Error(result.message);
    expect(result.key.comment).toBe('Alice  Partner <a@b.c>');
    expect(result.key.text).toBe(`${type} ${b64} Alice  Partner <a@b.c>`);
  });

  it('accepts a key without a comment', () => {
    const [type, b64] = pub('ecdsa256').trim().split(' ');
    const result = parseSshPublicKey(`${type} ${b64}`);
    if (!result.ok) throw new Error(result.message);
    expect(result.key.comment).toBeUndefined();
    expect(result.key.text).toBe(`${type} ${b64}`);
  });

  it('rejects a key line longer than Transfer Family stores', () => {
    const f = failure(parseSshPublicKey(`${pub('ed25519').trim()} ${'x'.repeat(2100)}`));
    expect(f.code).toBe('SSH_KEY_UNSUPPORTED');
    expect(f.message).toContain('2048');
  });
});

describe('parseSshPublicKey on malformed input', () => {
  const ed = () => pub('ed25519').trim().split(' ') as [string, string, string];

  it.each([
    ['empty', ''],
    ['blank lines only', '  \n\t\n'],
    ['garbage', 'hello world'],
    ['type without base64', 'ssh-ed25519'],
    ['invalid base64 characters', 'ssh-ed25519 AAAA$$$$'],
  ])('%s → SSH_KEY_MALFORMED', (_name, text) => {
    expect(failure(parseSshPublicKey(text)).code).toBe('SSH_KEY_MALFORMED');
  });

  it('truncated base64 → SSH_KEY_MALFORMED', () => {
    const [type, b64] = ed();
    for (const cut of [1, 4, 8, 20]) {
      expect(failure(parseSshPublicKey(`${type} ${b64.slice(0, -cut)}`)).code).toBe('SSH_KEY_MALFORMED');
    }
  });

  it('type token different from the type inside the blob → SSH_KEY_MALFORMED', () => {
    const [, b64] = ed();
    const f = failure(parseSshPublicKey(`ssh-rsa ${b64}`));
    expect(f.code).toBe('SSH_KEY_MALFORMED');
    expect(f.message).toContain('does not match');
  });

  it('trailing garbage inside the blob → SSH_KEY_MALFORMED', () => {
    const [type, b64] = ed();
    const blob = Buffer.concat([Buffer.from(b64, 'base64'), Buffer.from([0, 0, 0, 0])]);
    const f = failure(parseSshPublicKey(`${type} ${blob.toString('base64')}`));
    expect(f.code).toBe('SSH_KEY_MALFORMED');
    expect(f.message).toContain('extra data');
  });

  it('wrong ed25519 length, wrong curve, point off the curve, negative modulus → SSH_KEY_MALFORMED', () => {
    const point = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]);
    for (const text of [
      line('ssh-ed25519', Buffer.alloc(31, 7)),
      line('ecdsa-sha2-nistp256', 'nistp384', point),
      line('ecdsa-sha2-nistp256', 'nistp256', point),
      line('ecdsa-sha2-nistp384', 'nistp384', point),
      line('ssh-rsa', Buffer.from([1, 0, 1]), Buffer.alloc(256, 0xff)),
    ]) {
      expect(failure(parseSshPublicKey(text)).code).toBe('SSH_KEY_MALFORMED');
    }
  });

  it('counts RSA bits after the mpint sign byte', () => {
    const n = Buffer.concat([Buffer.from([0x00, 0x80]), Buffer.alloc(255, 0x01)]);
    const result = parseSshPublicKey(line('ssh-rsa', Buffer.from([1, 0, 1]), n));
    if (!result.ok) throw new Error(result.message);
    expect(result.key.bits).toBe(2048);
  });

  it('authorized_keys options prefix → SSH_KEY_MALFORMED naming the options', () => {
    const f = failure(parseSshPublicKey(`from="10.0.0.1",no-pty ${pub('ed25519')}`));
    expect(f.code).toBe('SSH_KEY_MALFORMED');
    expect(f.message).toContain('options');
  });

  it('two keys → SSH_KEY_MALFORMED', () => {
    expect(failure(parseSshPublicKey(`${pub('ed25519')}\n${pub('ecdsa256')}`)).code).toBe('SSH_KEY_MALFORMED');
  });

  it('RFC 4716 format → SSH_KEY_MALFORMED with a conversion hint', () => {
    const rfc = execFileSync('ssh-keygen', ['-e', '-f', join(dir, 'ed25519.pub')], { encoding: 'utf8' });
    const f = failure(parseSshPublicKey(rfc));
    expect(f.code).toBe('SSH_KEY_MALFORMED');
    expect(f.hint).toContain('ssh-keygen -i');
  });

  it.each([
    ['sk-ssh-ed25519@openssh.com', line('sk-ssh-ed25519@openssh.com', Buffer.alloc(32, 1), 'ssh:')],
    ['sk-ecdsa-sha2-nistp256@openssh.com', line('sk-ecdsa-sha2-nistp256@openssh.com', 'nistp256', 'x')],
    ['ssh-ed448', line('ssh-ed448', Buffer.alloc(57, 1))],
    ['rsa-sha2-256', line('rsa-sha2-256', 'x')],
  ])('%s → SSH_KEY_UNSUPPORTED', (_name, text) => {
    const f = failure(parseSshPublicKey(text));
    expect(f.code).toBe('SSH_KEY_UNSUPPORTED');
    expect(f.hint).toContain('ssh-ed25519');
  });

  it('never echoes more than the type and the first 12 base64 characters', () => {
    const [type, b64] = ed();
    const f = failure(parseSshPublicKey(`${type} ${b64.slice(0, -6)}`));
    expect(f.message).toContain(b64.slice(0, 12));
    expect(`${f.message}${f.hint}`).not.toContain(b64.slice(0, 13));
  });
});

describe('looksLikeSshPublicKey', () => {
  it('tells inline keys from file paths', () => {
    expect(looksLikeSshPublicKey(pub('ed25519'))).toBe(true);
    expect(looksLikeSshPublicKey(`  ${pub('rsa2048')}`)).toBe(true);
    expect(looksLikeSshPublicKey('ssh-foo AAAAB3NzaC1yc2EAAAADAQAB')).toBe(true);
    expect(looksLikeSshPublicKey('sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5')).toBe(true);
    expect(looksLikeSshPublicKey(`from="1.2.3.4" ${pub('ed25519')}`)).toBe(true);
    expect(looksLikeSshPublicKey(readFileSync(join(dir, 'ed25519'), 'utf8'))).toBe(true);
    expect(looksLikeSshPublicKey('keys/partner.pub')).toBe(false);
    expect(looksLikeSshPublicKey('./ssh-rsa.pub')).toBe(false);
    expect(looksLikeSshPublicKey('/home/me/.ssh/id_ed25519.pub')).toBe(false);
    expect(looksLikeSshPublicKey('ssh-keys/a b.pub')).toBe(false);
    expect(looksLikeSshPublicKey('')).toBe(false);
  });
});

describe('parseSshPublicKey never throws', () => {
  it('on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
        const r = parseSshPublicKey(s);
        expect(typeof r.ok).toBe('boolean');
        looksLikeSshPublicKey(s);
      }),
      { numRuns: 2000 },
    );
  });

  it('on arbitrary blobs behind a known type', () => {
    const types = ['ssh-ed25519', 'ssh-rsa', 'ssh-dss', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp521'];
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.uint8Array({ maxLength: 600 }), fc.boolean(), (type, bytes, prefix) => {
        const blob = prefix ? Buffer.concat([sshString(type), bytes]) : Buffer.from(bytes);
        const r = parseSshPublicKey(`${type} ${blob.toString('base64')}`);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });
});
