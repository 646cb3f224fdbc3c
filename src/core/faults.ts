import { SftpctlError } from './errors.js';

/**
 * The one fault classifier: whatever went wrong below a command, say what it is for the person running it. A file
 * system fault names the path and what to do; a network fault names the endpoint (and the AWS region where the host
 * shows one); anything else is left undefined so that a real bug still reads as one.
 */
export type FaultClass = 'filesystem' | 'network';

interface NodeErrorLike {
  code?: unknown;
  errno?: unknown;
  syscall?: unknown;
  path?: unknown;
  dest?: unknown;
  hostname?: unknown;
  address?: unknown;
  port?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
  name?: unknown;
}

/** Walks an error, its `cause` chain and an AggregateError's members (bounded: causes can be cyclic). */
export function* faultChain(error: unknown): Generator<NodeErrorLike> {
  const queue: unknown[] = [error];
  const seen = new Set<unknown>();
  while (queue.length > 0 && seen.size < 32) {
    const next = queue.shift();
    if (next === null || typeof next !== 'object' || seen.has(next)) continue;
    seen.add(next);
    yield next as NodeErrorLike;
    const { cause, errors } = next as NodeErrorLike;
    if (cause !== undefined) queue.push(cause);
    if (Array.isArray(errors)) queue.push(...errors);
  }
}

const FILESYSTEM: Record<string, { what: string; todo: string }> = {
  ENOENT: { what: 'does not exist', todo: 'Check the path (and that every folder above it exists).' },
  EACCES: {
    what: 'is not accessible with your permissions',
    todo: 'Check the owner and mode of the path and of its folders, or choose another path.',
  },
  EPERM: {
    what: 'cannot be changed with your permissions',
    todo: 'Check the owner and mode of the path and of its folders, or choose another path.',
  },
  EISDIR: { what: 'is a folder where a file is needed', todo: 'Give the path of a file.' },
  ENOTDIR: {
    what: 'goes through something that is not a folder',
    todo: 'Check each part of the path: one of them is a file, not a folder.',
  },
  ELOOP: {
    what: 'is a symbolic link that loops (or too many links deep)',
    todo: 'Fix or remove the symbolic link, or give the real path.',
  },
  ENOSPC: {
    what: 'cannot be written: the disk is full',
    todo: 'Free some space (df -h shows where), then run it again. Nothing half-written was kept.',
  },
  EDQUOT: {
    what: 'cannot be written: your disk quota is used up',
    todo: 'Free some space within your quota, then run it again.',
  },
  EROFS: { what: 'is on a read-only file system', todo: 'Choose a writable location.' },
  EEXIST: { what: 'already exists', todo: 'Choose another path, or move the existing one away first.' },
  ENOTEMPTY: { what: 'is a folder that is not empty', todo: 'Choose an empty or new folder.' },
  ENAMETOOLONG: { what: 'has a name that is too long for this file system', todo: 'Choose a shorter path.' },
  EMFILE: {
    what: 'could not be opened: this process has too many files open',
    todo: 'Raise the open-files limit (ulimit -n), then run it again.',
  },
  ENFILE: {
    what: 'could not be opened: the system has too many files open',
    todo: 'Try again when the machine is less busy.',
  },
  EIO: {
    what: 'could not be read or written: the device reported an I/O error',
    todo: 'Check the disk or the network file system behind this path.',
  },
  EBUSY: {
    what: 'is busy (in use by another process, or a mount point)',
    todo: 'Choose another path, or try again when it is free.',
  },
  ETXTBSY: { what: 'is busy (a running program)', todo: 'Choose another path.' },
  EXDEV: {
    what: 'is on another file system than the folder it must move to',
    todo: 'Choose a path on the same file system.',
  },
  EINVAL: {
    what: 'cannot be used this way (a special file such as /proc, /dev or a socket?)',
    todo: 'Give the path of a regular file or folder.',
  },
  ENXIO: {
    what: 'is a special file with nothing behind it (a FIFO with no writer, or a device)',
    todo: 'Give the path of a regular file.',
  },
  ESPIPE: { what: 'is a pipe or socket, not a regular file', todo: 'Give the path of a regular file.' },
  EFBIG: {
    what: 'is too large for this file system',
    todo: 'Choose a location on a file system that allows larger files.',
  },
};

const NETWORK: Record<string, string> = {
  ENOTFOUND: 'the host name does not resolve (DNS)',
  EAI_AGAIN: 'the host name could not be resolved right now (DNS)',
  ECONNREFUSED: 'the connection was refused',
  ECONNRESET: 'the connection was reset',
  ECONNABORTED: 'the connection was aborted',
  EPIPE: 'the connection closed while sending',
  ETIMEDOUT: 'the connection timed out',
  ESOCKETTIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ENETDOWN: 'the network is down',
  EPROTO: 'the TLS handshake failed',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  UND_ERR_SOCKET: 'the connection failed',
  CERT_HAS_EXPIRED: 'the server’s TLS certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server’s TLS certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'the server’s TLS certificate chain is not trusted (a TLS-inspecting proxy?)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the server’s TLS certificate could not be verified (a TLS-inspecting proxy?)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the server’s TLS certificate could not be verified (a TLS-inspecting proxy?)',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the server’s TLS certificate is for another host name',
};

const TIMEOUT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutError', 'ConnectTimeoutError']);

function codeOf(link: NodeErrorLike): string | undefined {
  return typeof link.code === 'string' ? link.code : undefined;
}

/** A file system fault, or undefined. Special files the code refuses itself (EINVAL on /proc) count too. */
export function describeFileSystemFault(error: unknown): SftpctlError | undefined {
  for (const link of faultChain(error)) {
    const code = codeOf(link);
    if (!code || !(code in FILESYSTEM) || typeof link.syscall !== 'string') continue;
    if (link.syscall.startsWith('getaddrinfo') || link.syscall === 'connect') continue;
    const fault = FILESYSTEM[code] as { what: string; todo: string };
    const path = typeof link.path === 'string' ? link.path : undefined;
    const dest = typeof link.dest === 'string' ? ` (→ ${link.dest})` : '';
    const subject = path ? `${path}${dest}` : 'The path given';
    return new SftpctlError(`FS_${code}`, `${subject} ${fault.what} (${link.syscall}).`, fault.todo, {
      cause: error,
      kind: 'user',
    });
  }
  return undefined;
}

/** host[:port] of the endpoint a network error names, from the error's own fields or its message. */
function endpointOf(link: NodeErrorLike): string | undefined {
  if (typeof link.hostname === 'string') return link.hostname;
  if (typeof link.address === 'string')
    return typeof link.port === 'number' ? `${link.address}:${link.port}` : link.address;
  const message = typeof link.message === 'string' ? link.message : '';
  const match = /(?:ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)\s+([\w.[\]:-]+)/.exec(message);
  return match?.[1];
}

/** The AWS region an endpoint host names (sts.eu-west-9.amazonaws.com → eu-west-9). */
export function regionOfHost(host: string | undefined): string | undefined {
  return host ? /\.([a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-\d+)\.amazonaws\.com/.exec(host)?.[1] : undefined;
}

/**
 * A network fault (DNS, refused, reset, TLS, timeout), or undefined. `context.region` is named when the caller knows
 * it; the endpoint comes from the error.
 */
export function describeNetworkFault(error: unknown, context: { region?: string } = {}): SftpctlError | undefined {
  for (const link of faultChain(error)) {
    const code = codeOf(link);
    const message = typeof link.message === 'string' ? link.message : '';
    const named =
      code && code in NETWORK ? code : Object.keys(NETWORK).find((key) => new RegExp(`\\b${key}\\b`).test(message));
    const timedOut = typeof link.name === 'string' && TIMEOUT_NAMES.has(link.name);
    if (!named && !timedOut) continue;
    const endpoint = endpointOf(link) ?? endpointInChain(error);
    const region = context.region ?? regionOfHost(endpoint);
    const where = [endpoint ? `endpoint ${endpoint}` : undefined, region ? `region ${region}` : undefined]
      .filter(Boolean)
      .join(', ');
    const what = named ? NETWORK[named] : 'no answer came in time';
    const dnsHint =
      named === 'ENOTFOUND' && region
        ? ` If the region is right, check DNS; ${region} must be a region this account can use.`
        : '';
    return new SftpctlError(
      'NETWORK',
      `Could not reach ${where || 'the service'}: ${what}${named ? ` (${named})` : ''}.`,
      `Check the network, any proxy (HTTPS_PROXY) and firewall, and the region.${dnsHint} Then run it again; operations already started in AWS carry on there.`,
      { cause: error, kind: 'user' },
    );
  }
  return undefined;
}

function endpointInChain(error: unknown): string | undefined {
  for (const link of faultChain(error)) {
    const endpoint = endpointOf(link);
    if (endpoint) return endpoint;
  }
  return undefined;
}

/** File system first (it names a path), then network; undefined for everything else. */
export function describeFault(error: unknown, context: { region?: string } = {}): SftpctlError | undefined {
  return describeFileSystemFault(error) ?? describeNetworkFault(error, context);
}
