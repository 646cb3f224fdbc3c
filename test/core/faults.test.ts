import { mkdtemp, open, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeKnownFault } from '../../src/aws/errors.js';
import { SftpctlError } from '../../src/core/errors.js';
import { describeFileSystemFault, describeNetworkFault, regionOfHost } from '../../src/core/faults.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sftpctl-faults-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function failureOf(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the action to fail');
}

describe('file system faults are the user’s or the machine’s, named by path, never a bug', () => {
  it('a folder where a file is needed (EISDIR)', async () => {
    const fault = describeFileSystemFault(await failureOf(() => open(dir, 'w')));
    expect(fault?.code).toBe('FS_EISDIR');
    expect(fault?.message).toContain(dir);
    expect(fault?.hint).toMatch(/file/);
    const unnamed = describeFileSystemFault(await failureOf(() => readFile(dir)));
    expect(unnamed?.message).toMatch(/^The path given is a folder where a file is needed/);
  });

  it('a symbolic link loop (ELOOP)', async () => {
    await symlink(join(dir, 'loop-b'), join(dir, 'loop-a'));
    await symlink(join(dir, 'loop-a'), join(dir, 'loop-b'));
    const fault = describeFileSystemFault(await failureOf(() => readFile(join(dir, 'loop-a'))));
    expect(fault?.code).toBe('FS_ELOOP');
    expect(fault?.message).toContain('loop-a');
    expect(fault?.hint).toMatch(/symbolic link/);
  });

  it('a missing parent folder (ENOENT) and a file in the middle of a path (ENOTDIR)', async () => {
    const missing = describeFileSystemFault(await failureOf(() => writeFile(join(dir, 'no', 'such', 'f'), 'x')));
    expect(missing?.code).toBe('FS_ENOENT');
    expect(missing?.hint).toMatch(/folder above/);
    await writeFile(join(dir, 'plain'), 'x');
    const notDir = describeFileSystemFault(await failureOf(() => writeFile(join(dir, 'plain', 'f'), 'x')));
    expect(notDir?.code).toBe('FS_ENOTDIR');
  });

  it('an existing name opened exclusively (EEXIST)', async () => {
    await writeFile(join(dir, 'taken'), 'x');
    const fault = describeFileSystemFault(await failureOf(() => open(join(dir, 'taken'), 'wx')));
    expect(fault?.code).toBe('FS_EEXIST');
    expect(fault?.message).toContain('taken');
  });

  it.each([
    ['ENOSPC', /disk is full/, /Free some space/],
    ['EROFS', /read-only/, /writable location/],
    ['EACCES', /permissions/, /owner and mode/],
    ['EIO', /I\/O error/, /disk/],
    ['EMFILE', /too many files open/, /ulimit/],
  ])('%s from the machine (as Node raises it) says what and what to do', (code, what, todo) => {
    const error = Object.assign(new Error(`${code}: x, write`), { code, syscall: 'write', path: '/data/out.bin' });
    const fault = describeFileSystemFault(error);
    expect(fault?.code).toBe(`FS_${code}`);
    expect(fault?.message).toMatch(what);
    expect(fault?.message).toContain('/data/out.bin');
    expect(fault?.hint).toMatch(todo);
  });

  it('a fault wrapped as the cause of another error is still found', () => {
    const inner = Object.assign(new Error('EISDIR'), { code: 'EISDIR', syscall: 'read', path: '/k' });
    const outer = new Error('could not load', { cause: inner });
    expect(describeKnownFault(outer)?.code).toBe('FS_EISDIR');
  });
});

describe('network faults name the endpoint and region, never "sign in"', () => {
  it('DNS failure inside a credential provider error is a network fault', () => {
    const error = Object.assign(new Error('getaddrinfo ENOTFOUND sts.eu-west-9.amazonaws.com'), {
      name: 'CredentialsProviderError',
    });
    const fault = describeKnownFault(error);
    expect(fault?.code).toBe('NETWORK');
    expect(fault?.message).toContain('sts.eu-west-9.amazonaws.com');
    expect(fault?.message).toContain('region eu-west-9');
    expect(fault?.hint).not.toMatch(/sign in|sso login/i);
  });

  it('a refused connection from a real socket names address and port', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const { connect } = await import('node:net');
    const error = await new Promise<unknown>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', resolve);
    });
    const fault = describeKnownFault(error, { region: 'eu-west-2' });
    expect(fault?.code).toBe('NETWORK');
    expect(fault?.message).toContain(`127.0.0.1:${port}`);
    expect(fault?.message).toContain('region eu-west-2');
    expect(fault?.message).toMatch(/refused/);
  });

  it.each([
    ['ECONNRESET', /reset/],
    ['ETIMEDOUT', /timed out/],
    ['EHOSTUNREACH', /unreachable/],
    ['SELF_SIGNED_CERT_IN_CHAIN', /TLS certificate chain is not trusted/],
    ['CERT_HAS_EXPIRED', /expired/],
  ])('%s', (code, what) => {
    const error = Object.assign(new Error(`${code}`), { code, hostname: 's3.us-east-1.amazonaws.com' });
    const fault = describeNetworkFault(error);
    expect(fault?.message).toMatch(what);
    expect(fault?.message).toContain('region us-east-1');
  });

  it('an SDK timeout (no answer in time) is a network fault', () => {
    const error = Object.assign(new Error('Connection timed out after 5000 ms'), { name: 'TimeoutError' });
    expect(describeKnownFault(error)?.message).toMatch(/no answer came in time/);
  });

  it('regions are read from AWS host names only', () => {
    expect(regionOfHost('cloudformation.ap-southeast-2.amazonaws.com')).toBe('ap-southeast-2');
    expect(regionOfHost('transfer.us-gov-west-1.amazonaws.com')).toBe('us-gov-west-1');
    expect(regionOfHost('localhost')).toBeUndefined();
  });
});

describe('only real bugs stay bugs', () => {
  it('a TypeError, or an error with an unknown code, is not described', () => {
    expect(describeKnownFault(new TypeError('x is undefined'))).toBeUndefined();
    expect(describeKnownFault(Object.assign(new Error('odd'), { code: 'ERR_SOMETHING' }))).toBeUndefined();
  });

  it('an SftpctlError is passed through as it is', () => {
    const error = new SftpctlError('X', 'y');
    expect(describeKnownFault(error)).toBe(error);
  });

  it('a cyclic cause chain ends', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(describeKnownFault(a)).toBeUndefined();
  });
});
