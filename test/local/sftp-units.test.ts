import { EventEmitter } from 'node:events';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCidr } from '../../src/core/config/cidr.js';
import { isAcceptedUserSignature, SERVER_ALGORITHMS } from '../../src/local/sftp/algorithms.js';
import { addressAllowed, isValidUserName, normalizeAddress } from '../../src/local/sftp/auth.js';
import { Defender } from '../../src/local/sftp/defender.js';
import { Home, keyOf, normalizeVirtual, PathError } from '../../src/local/sftp/paths.js';
import { attrsOf, longname, STATUS_CODE, statusOf } from '../../src/local/sftp/replies.js';
import { DATA_HEADER, installWire, sshString } from '../../src/local/sftp/wire.js';

describe('sftp paths', () => {
  let root: string;
  let home: Home;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sftpctl-paths-'));
    await mkdir(join(root, 'home', 'sub'), { recursive: true });
    await writeFile(join(root, 'outside.txt'), 'x');
    await writeFile(join(root, 'home', 'sub', 'file.txt'), 'x');
    await symlink(join(root, 'outside.txt'), join(root, 'home', 'out-link'));
    await symlink(root, join(root, 'home', 'out-dir'));
    await symlink('sub', join(root, 'home', 'in-link'));
    await symlink(join(root, 'missing'), join(root, 'home', 'dangling'));
    home = await Home.open(join(root, 'home'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it.each([
    ['', '/'],
    ['.', '/'],
    ['/', '/'],
    ['..', '/'],
    ['../../etc/passwd', '/etc/passwd'],
    ['/a/b/../../../c', '/c'],
    ['a//b/./c/', '/a/b/c'],
    ['dir/..', '/'],
    ['\\..\\x', '/\\..\\x'],
  ])('normalises %j to %j', (input, expected) => {
    expect(normalizeVirtual(input)).toBe(expected);
  });

  it('refuses NUL bytes', () => {
    expect(() => normalizeVirtual('a\0b')).toThrow(PathError);
  });

  it('maps virtual paths into the home and back', () => {
    expect(home.toFs('/')).toBe(home.root);
    expect(home.toFs('/a/b')).toBe(join(home.root, 'a', 'b'));
    expect(home.toVirtual(join(home.root, 'a', 'b'))).toBe('/a/b');
    expect(home.toVirtual(`${home.root}-sibling/x`)).toBeUndefined();
    expect(home.toVirtual(root)).toBeUndefined();
    expect(keyOf('/a/b.txt')).toBe('a/b.txt');
  });

  it('lets paths inside the home through, existing or not', async () => {
    await expect(home.confine('/sub/file.txt', { follow: true })).resolves.toBe(join(home.root, 'sub', 'file.txt'));
    await expect(home.confine('/sub/new/deeper.txt', { follow: true })).resolves.toBeDefined();
    await expect(home.confine('/in-link/file.txt', { follow: true })).resolves.toBeDefined();
    await expect(home.confine('/sub/file.txt/below', { follow: true })).resolves.toBeDefined();
  });

  it('refuses symlinks that lead out of the home, unless only the link itself is acted on', async () => {
    await expect(home.confine('/out-link', { follow: true })).rejects.toMatchObject({ reason: 'outside-home' });
    await expect(home.confine('/out-dir/outside.txt', { follow: true })).rejects.toMatchObject({
      reason: 'outside-home',
    });
    await expect(home.confine('/out-dir/new.txt', { follow: false })).rejects.toMatchObject({
      reason: 'outside-home',
    });
    await expect(home.confine('/dangling', { follow: true })).rejects.toMatchObject({ reason: 'outside-home' });
    // lstat/remove/rename of the link itself stays inside the home.
    await expect(home.confine('/out-link', { follow: false })).resolves.toBe(join(home.root, 'out-link'));
  });
});

describe('sftp statuses and listings', () => {
  it('maps errno to SFTP statuses without leaking paths', () => {
    const error = (code: string) => Object.assign(new Error(`${code}: /secret/path`), { code });
    expect(statusOf(error('ENOENT'))).toEqual({
      status: STATUS_CODE.NO_SUCH_FILE,
      message: 'No such file or directory',
    });
    expect(statusOf(error('EACCES')).status).toBe(STATUS_CODE.PERMISSION_DENIED);
    expect(statusOf(error('EPERM')).status).toBe(STATUS_CODE.PERMISSION_DENIED);
    expect(statusOf(error('EEXIST'))).toEqual({
      status: STATUS_CODE.FAILURE,
      message: 'File or directory already exists',
    });
    expect(statusOf(error('ENOTEMPTY')).message).toBe('Directory not empty');
    expect(statusOf(error('EWHATEVER'))).toEqual({ status: STATUS_CODE.FAILURE, message: 'Failure' });
    expect(statusOf(new PathError('outside-home', 'x')).status).toBe(STATUS_CODE.PERMISSION_DENIED);
    for (const code of ['ENOENT', 'EACCES', 'EEXIST', 'EIO']) expect(statusOf(error(code)).message).not.toContain('/');
  });

  it('writes ls -l lines like OpenSSH, read-only for download users', () => {
    const now = Date.UTC(2026, 5, 15, 12);
    const stats = {
      mode: 0o100644,
      uid: 1,
      gid: 2,
      size: 1234,
      atimeMs: now - 1000,
      mtimeMs: now - 3_600_000,
    } as import('node:fs').Stats;
    const attrs = attrsOf(stats, true);
    expect(attrs.mode & 0o777).toBe(0o444);
    const line = longname('report.csv', attrs, 'acme-download', 'acme', 1, now);
    expect(line).toMatch(/^-r--r--r-- {3}1 acme-download acme {9}1234 Jun 15 \d\d:00 report\.csv$/);
    const old = longname('old', { ...attrs, mode: 0o040755, mtime: now / 1000 - 400 * 86400 }, 'u', 'g', 2, now);
    expect(old).toMatch(/^drwxr-xr-x {3}2 u {7} g {7} {5}1234 May \d\d {2}2025 old$/);
  });
});

describe('sftp defender', () => {
  it('bans after maxFailures within the window, for banMs', () => {
    let now = 1_000_000;
    const defender = new Defender({ maxFailures: 3, windowMs: 10_000, banMs: 60_000 }, () => now);
    expect(defender.recordFailure('192.0.2.1')).toEqual({ failures: 1 });
    now += 11_000; // the first failure leaves the window
    expect(defender.recordFailure('192.0.2.1')).toEqual({ failures: 1 });
    expect(defender.recordFailure('192.0.2.1')).toEqual({ failures: 2 });
    expect(defender.recordFailure('192.0.2.2')).toEqual({ failures: 1 });
    expect(defender.recordFailure('192.0.2.1')).toEqual({ failures: 3, bannedUntil: now + 60_000 });
    expect(defender.bannedUntil('192.0.2.1')).toBe(now + 60_000);
    expect(defender.bannedUntil('192.0.2.2')).toBeUndefined();
    now += 60_001;
    expect(defender.bannedUntil('192.0.2.1')).toBeUndefined();
    expect(defender.recordFailure('192.0.2.1')).toEqual({ failures: 1 });
    defender.prune();
  });

  it('refuses a configuration that could never ban', () => {
    expect(() => new Defender({ maxFailures: 0, windowMs: 1, banMs: 1 })).toThrow();
  });
});

describe('sftp auth rules', () => {
  const cidr = (text: string) => {
    const parsed = parseCidr(text);
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.cidr;
  };

  it('normalises IPv4-mapped IPv6 addresses', () => {
    expect(normalizeAddress('::ffff:127.0.0.2')).toBe('127.0.0.2');
    expect(normalizeAddress('::FFFF:203.0.113.9')).toBe('203.0.113.9');
    expect(normalizeAddress('2001:db8::1')).toBe('2001:db8::1');
    expect(normalizeAddress(undefined)).toBe('');
  });

  it('allows addresses inside the CIDRs, and loopback only when asked', () => {
    const cidrs = [cidr('203.0.113.0/24')];
    expect(addressAllowed('203.0.113.77', cidrs, false)).toBe(true);
    expect(addressAllowed('203.0.114.1', cidrs, false)).toBe(false);
    expect(addressAllowed('127.0.0.1', cidrs, false)).toBe(false);
    expect(addressAllowed('127.0.0.1', cidrs, true)).toBe(true);
    expect(addressAllowed('::1', cidrs, true)).toBe(true);
    expect(addressAllowed('::1', cidrs, false)).toBe(false);
    expect(addressAllowed('2001:db8::1', cidrs, true)).toBe(false);
    expect(addressAllowed('', cidrs, true)).toBe(false);
  });

  it("applies Transfer Family's user name rule", () => {
    expect(isValidUserName('acme-upload')).toBe(true);
    expect(isValidUserName('a.b@c_d')).toBe(true);
    expect(isValidUserName('ab')).toBe(false);
    expect(isValidUserName('-abc')).toBe(false);
    expect(isValidUserName('root')).toBe(false);
    expect(isValidUserName('a'.repeat(101))).toBe(false);
    expect(isValidUserName('bad name')).toBe(false);
  });

  it('offers no SHA-1, CBC, MD5 or truncated MAC algorithms, and refuses ssh-rsa user signatures', () => {
    const all = Object.values(SERVER_ALGORITHMS).flat();
    for (const name of all) expect(name).not.toMatch(/sha1|cbc|md5|-96|^ssh-rsa$|^ssh-dss$|group1-|group14-sha1/);
    expect(isAcceptedUserSignature('ssh-rsa', undefined)).toBe(false);
    expect(isAcceptedUserSignature('ssh-rsa', 'sha256')).toBe(true);
    expect(isAcceptedUserSignature('ssh-rsa', 'sha512')).toBe(true);
    expect(isAcceptedUserSignature('ssh-ed25519', undefined)).toBe(true);
    expect(isAcceptedUserSignature('ssh-dss', undefined)).toBe(false);
  });
});

describe('sftp wire additions', () => {
  class FakeSftp extends EventEmitter {
    _version = -1;
    _extensions: Record<string, string> = {};
    _buffer: Buffer[] = [];
    _waitChanDrain = false;
    _waitWindow = false;
    _chunkcb: (() => void) | undefined = undefined;
    sent: Buffer[] = [];
    adjusted: number[] = [];
    pushed: (Buffer | null)[] = [];
    incoming = { window: 2 * 1024 * 1024, state: 'open' };
    outgoing = { id: 7, window: 2 * 1024 * 1024, packetSize: 32 * 1024, state: 'open' };
    _protocol = {
      channelData: (_id: number, data: Buffer) => this.sent.push(data),
      channelWindowAdjust: (_id: number, amount: number) => this.adjusted.push(amount),
      exitStatus: (_id: number, status: number) => this.exits.push(status),
    };
    exits: number[] = [];
    push(data: Buffer | null): undefined {
      this.pushed.push(data);
      return undefined;
    }
  }

  const initPacket = (extensions: [string, string][]) => {
    const body = Buffer.concat(extensions.flatMap(([name, value]) => [sshString(name), sshString(value)]));
    const packet = Buffer.alloc(9);
    packet.writeUInt32BE(5 + body.length, 0);
    packet[4] = 1;
    packet.writeUInt32BE(3, 5);
    return Buffer.concat([packet, body]);
  };

  it('answers INIT with a VERSION that lists the extensions, and passes what follows to ssh2', () => {
    const fake = new FakeSftp();
    let overloaded = false;
    const wire = installWire(fake as unknown as SFTPWrapper, {
      extensions: { 'limits@openssh.com': '1' },
      overloaded: () => overloaded,
    });
    expect(wire).toBeDefined();
    let ready = 0;
    fake.on('ready', () => ready++);
    const next = Buffer.from([0, 0, 0, 5, 16, 0, 0, 0, 1]);
    expect(fake.push(Buffer.concat([initPacket([['client-ext', 'x']]), next]))).toBeUndefined();
    expect(ready).toBe(1);
    expect(fake._version).toBe(3);
    expect(fake._extensions).toEqual({ 'client-ext': 'x' });
    const version = fake.sent[0]!;
    expect(version[4]).toBe(2);
    expect(version.readUInt32BE(5)).toBe(3);
    expect(version.subarray(9)).toEqual(Buffer.concat([sshString('limits@openssh.com'), sshString('1')]));
    expect(fake.outgoing.window).toBe(2 * 1024 * 1024 - version.length);
    expect(fake.pushed).toEqual([next]);

    // Back-pressure: while overloaded, push reports false (ssh2 then holds the window back) until resume().
    overloaded = true;
    expect(fake.push(Buffer.from([0]))).toBe(false);
    fake._waitChanDrain = true;
    fake.incoming.window = 1024;
    overloaded = false;
    wire!.resume();
    expect(fake.adjusted).toEqual([2 * 1024 * 1024 - 1024]);
    expect(fake._waitChanDrain).toBe(false);

    // Extended replies queue behind ssh2's own packets when the window is closed.
    fake.outgoing.window = 0;
    wire!.extendedReply(9, Buffer.from([1, 2, 3]));
    expect(fake._buffer).toHaveLength(1);
    expect(fake._buffer[0]!.subarray(4)).toEqual(Buffer.from([201, 0, 0, 0, 9, 1, 2, 3]));
  });

  it('sends a DATA reply built in place in packet-size pieces, queues the rest and drains it on new window', () => {
    const fake = new FakeSftp();
    const wire = installWire(fake as unknown as SFTPWrapper, { extensions: {}, overloaded: () => false })!;
    fake.outgoing.window = 100 * 1024;
    const data = Buffer.alloc(200 * 1024, 7);
    const packet = Buffer.alloc(DATA_HEADER + data.length + 50); // a short read: 50 bytes unused
    data.copy(packet, DATA_HEADER);
    wire.dataReply(42, packet, data.length);
    expect(fake.sent.map((piece) => piece.length)).toEqual([32768, 32768, 32768, 4096]);
    expect(fake.outgoing.window).toBe(0);
    expect(fake._waitWindow).toBe(true);
    // Queued behind: later replies wait for the rest of this one.
    wire.extendedReply(43, Buffer.from([1]));
    expect(fake._buffer).toHaveLength(2);
    // The client grants window: ssh2 calls the drain it was given.
    fake.outgoing.window = 1024 * 1024;
    fake._waitWindow = false;
    fake._chunkcb!.call(fake);
    const wireBytes = Buffer.concat(fake.sent);
    expect(wireBytes.length).toBe(DATA_HEADER + data.length + 9 + 1);
    expect(wireBytes.readUInt32BE(0)).toBe(9 + data.length);
    expect(wireBytes[4]).toBe(103);
    expect(wireBytes.readUInt32BE(5)).toBe(42);
    expect(wireBytes.readUInt32BE(9)).toBe(data.length);
    expect(wireBytes.subarray(DATA_HEADER, DATA_HEADER + data.length).equals(data)).toBe(true);
    expect(wireBytes[DATA_HEADER + data.length + 4]).toBe(201);
    expect(fake._buffer).toEqual([]);
  });

  it('stays out of the way when ssh2 internals are not what it expects', () => {
    const fake = new FakeSftp();
    fake._version = 3;
    expect(installWire(fake as unknown as SFTPWrapper, { extensions: {}, overloaded: () => false })).toBeUndefined();
  });
});

describe('quota sizes (local up --quota)', () => {
  it('reads binary sizes and refuses what is not one', async () => {
    const { parseQuota } = await import('../../src/local/sftp/quota.js');
    expect(parseQuota('500G')).toBe(500 * 2 ** 30);
    expect(parseQuota('1.5T')).toBe(1.5 * 2 ** 40);
    expect(parseQuota('2GiB')).toBe(2 * 2 ** 30);
    expect(parseQuota('1048576')).toBe(1048576);
    for (const bad of ['', 'lots', '-1G', '10', '1P', '1e9']) expect(parseQuota(bad), bad).toBeUndefined();
  });
});
