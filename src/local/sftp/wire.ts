import type { SFTPWrapper } from 'ssh2';

/**
 * What ssh2's server-side SFTP lacks, added from the outside:
 *
 * - Extensions in the VERSION reply. ssh2 always answers INIT with a bare "version 3", so OpenSSH's client never uses
 *   posix-rename@openssh.com, statvfs or limits@openssh.com. Without limits@openssh.com it also sticks to 32 KiB
 *   READ/WRITE requests, against 255 KiB with OpenSSH's own server.
 * - EXTENDED_REPLY packets (ssh2 has no server method for them).
 * - Back-pressure: ssh2 re-opens the channel window as soon as data arrives, whatever the server still has to write,
 *   so a client that does not wait for replies could fill memory. `overloaded()` makes the channel stop granting
 *   window until `resume()`.
 *
 * - Exact 64-bit offsets: ssh2 reads a uint64 into a JavaScript number unless told otherwise (`_biOpt`), so an offset
 *   at or above 2^53 is rounded (2^63-10 became 0 on the way in). With `_biOpt = 'always'` every uint64 it parses
 *   (READ/WRITE offsets, ATTRS sizes) is a BigInt, which the session checks and converts.
 * - `exit-status` at a clean close: OpenSSH's scp (SFTP mode) and sftp report failure without one.
 *
 * This touches ssh2 internals (`_version`, `_extensions`, `_buffer`, `_protocol`, `incoming`/`outgoing`, `push`), all
 * present in ssh2 1.x. `installWire` checks for them and returns undefined when they are missing; the server then
 * runs without the extensions (slower with OpenSSH, still correct).
 */

interface SftpInternals {
  _version: number;
  _biOpt: string | undefined;
  _extensions: Record<string, string>;
  _buffer: Buffer[];
  _waitChanDrain?: boolean;
  _waitWindow: boolean;
  _chunkcb: (() => void) | undefined;
  _protocol: {
    channelData(id: number, data: Buffer): void;
    channelWindowAdjust(id: number, amount: number): void;
    exitStatus(id: number, status: number): void;
    channelExtData?(id: number, data: Buffer, type: number): void;
  };
  incoming: { window: number; state: string };
  outgoing: { id: number; window: number; packetSize: number; state: string };
  push(data: Buffer | null): unknown;
  emit(event: string, ...args: unknown[]): boolean;
}

const SSH_FXP_INIT = 1;
const SSH_FXP_VERSION = 2;
const SSH_FXP_EXTENDED_REPLY = 201;
const SSH_FXP_DATA = 103;
/** uint32 length, byte type, uint32 request id, uint32 data length. */
export const DATA_HEADER = 13;
/** ssh2's channel window (lib/Channel.js MAX_WINDOW). */
const CHANNEL_WINDOW = 2 * 1024 * 1024;

export interface Wire {
  /** Sends an EXTENDED_REPLY carrying `payload`. */
  extendedReply(reqid: number, payload: Buffer): void;
  /**
   * Sends a DATA reply built in place: `packet` starts with DATA_HEADER free bytes, then `length` bytes of data (read
   * straight into it), so the data is not copied into a second buffer on its way out.
   */
  dataReply(reqid: number, packet: Buffer, length: number): void;
  /** Grants the channel window again after `overloaded()` held it back. */
  resume(): void;
  /** Sends `exit-status` on the channel (before it is closed), as an OpenSSH sftp-server that exits does. */
  exitStatus(status: number): void;
}

export function installWire(
  sftp: SFTPWrapper,
  options: { extensions: Record<string, string>; overloaded: () => boolean },
): Wire | undefined {
  const internals = sftp as unknown as SftpInternals;
  if (
    internals._version !== -1 ||
    !Array.isArray(internals._buffer) ||
    typeof internals._protocol?.channelData !== 'function' ||
    typeof internals._protocol.channelWindowAdjust !== 'function' ||
    typeof internals._protocol.exitStatus !== 'function' ||
    typeof internals.outgoing?.window !== 'number' ||
    typeof internals._waitWindow !== 'boolean' ||
    typeof internals.incoming?.window !== 'number' ||
    typeof internals.push !== 'function'
  ) {
    return undefined;
  }

  internals._biOpt = 'always';
  const send = (packet: Buffer): void => sendPacket(internals, packet);
  const originalPush = internals.push.bind(internals);
  let initSeen = false;
  internals.push = (data: Buffer | null): unknown => {
    if (data !== null && !initSeen) {
      initSeen = true;
      const rest = answerInit(internals, data, options.extensions, send);
      if (rest === undefined) return originalPush(data) === false || options.overloaded() ? false : undefined;
      if (rest.length > 0) originalPush(rest);
      return options.overloaded() ? false : undefined;
    }
    const result = originalPush(data);
    return result === false || (data !== null && options.overloaded()) ? false : result;
  };

  return {
    extendedReply(reqid, payload) {
      const packet = Buffer.allocUnsafe(9 + payload.length);
      packet.writeUInt32BE(5 + payload.length, 0);
      packet[4] = SSH_FXP_EXTENDED_REPLY;
      packet.writeUInt32BE(reqid, 5);
      payload.copy(packet, 9);
      send(packet);
    },
    dataReply(reqid, packet, length) {
      packet.writeUInt32BE(DATA_HEADER - 4 + length, 0);
      packet[4] = SSH_FXP_DATA;
      packet.writeUInt32BE(reqid, 5);
      packet.writeUInt32BE(length, 9);
      send(length + DATA_HEADER === packet.length ? packet : packet.subarray(0, DATA_HEADER + length));
    },
    exitStatus(status) {
      if (internals.outgoing.state !== 'open') return;
      internals._protocol.exitStatus(internals.outgoing.id, status);
    },
    resume() {
      if (!internals._waitChanDrain || internals.incoming.state === 'closed') return;
      internals._waitChanDrain = false;
      const amount = CHANNEL_WINDOW - internals.incoming.window;
      if (amount <= 0) return;
      internals.incoming.window += amount;
      internals._protocol.channelWindowAdjust(internals.outgoing.id, amount);
    },
  };
}

/**
 * Answers the client's INIT with a VERSION 3 that lists `extensions`, as ssh2 itself would minus the list. Returns the
 * bytes that follow the INIT packet, or undefined when `data` does not hold one whole INIT (ssh2 then answers it).
 */
function answerInit(
  sftp: SftpInternals,
  data: Buffer,
  extensions: Record<string, string>,
  send: (packet: Buffer) => void,
): Buffer | undefined {
  if (data.length < 9 || data[4] !== SSH_FXP_INIT) return undefined;
  const length = data.readUInt32BE(0);
  if (length < 5 || data.length < 4 + length) return undefined;
  const clientExtensions: Record<string, string> = {};
  let offset = 9;
  while (offset < 4 + length) {
    const name = readString(data, offset, 4 + length);
    if (!name) return undefined;
    const value = readString(data, name.next, 4 + length);
    if (!value) return undefined;
    clientExtensions[name.value] = value.value;
    offset = value.next;
  }
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(extensions)) parts.push(sshString(name), sshString(value));
  const body = Buffer.concat(parts);
  const packet = Buffer.allocUnsafe(9 + body.length);
  packet.writeUInt32BE(5 + body.length, 0);
  packet[4] = SSH_FXP_VERSION;
  packet.writeUInt32BE(3, 5);
  body.copy(packet, 9);
  send(packet);
  sftp._version = Math.min(data.readUInt32BE(5), 3);
  sftp._extensions = clientExtensions;
  sftp.emit('ready');
  return data.subarray(4 + length);
}

/**
 * Sends one SFTP packet on the channel exactly as ssh2's own replies go (its `sendOrBuffer`/`tryWritePayload`): in
 * pieces of at most the client's packet size while the window allows, the rest queued in ssh2's `_buffer` behind what
 * is already there, drained in order when the client grants window (`_waitWindow`/`_chunkcb`, which ssh2's channel
 * handler calls on WINDOW_ADJUST).
 */
function sendPacket(sftp: SftpInternals, packet: Buffer): void {
  if (sftp.outgoing.state !== 'open') return;
  if (sftp._buffer.length > 0) {
    sftp._buffer.push(packet);
    return;
  }
  const rest = tryWrite(sftp, packet);
  if (rest) sftp._buffer.push(rest);
}

function tryWrite(sftp: SftpInternals, payload: Buffer): Buffer | undefined {
  const out = sftp.outgoing;
  if (out.state !== 'open') return undefined;
  let position = 0;
  while (position < payload.length && out.window > 0) {
    const length = Math.min(payload.length - position, out.window, out.packetSize);
    out.window -= length;
    sftp._protocol.channelData(
      out.id,
      position === 0 && length === payload.length ? payload : payload.subarray(position, position + length),
    );
    position += length;
  }
  if (position === payload.length) return undefined;
  sftp._waitWindow = true;
  sftp._chunkcb = drain;
  return position === 0 ? payload : payload.subarray(position);
}

/** ssh2's `drainBuffer`, for a queue that may hold our packets as well as its own. */
function drain(this: SftpInternals): void {
  this._chunkcb = undefined;
  const queue = this._buffer;
  let index = 0;
  while (index < queue.length) {
    const rest = tryWrite(this, queue[index]!);
    if (rest) {
      queue[index] = rest;
      this._buffer = queue.slice(index);
      return;
    }
    index++;
  }
  this._buffer = [];
}

function readString(data: Buffer, offset: number, end: number): { value: string; next: number } | undefined {
  if (offset + 4 > end) return undefined;
  const length = data.readUInt32BE(offset);
  if (offset + 4 + length > end) return undefined;
  return { value: data.toString('utf8', offset + 4, offset + 4 + length), next: offset + 4 + length };
}

export function sshString(value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const out = Buffer.allocUnsafe(4 + bytes.length);
  out.writeUInt32BE(bytes.length, 0);
  bytes.copy(out, 4);
  return out;
}

export function uint64s(values: readonly (number | bigint)[]): Buffer {
  const out = Buffer.allocUnsafe(8 * values.length);
  values.forEach((value, index) => {
    out.writeBigUInt64BE(BigInt(Math.max(0, Math.trunc(Number(value)))), index * 8);
  });
  return out;
}

/** Reads the SSH strings of an EXTENDED request's data; undefined when malformed. */
export function readStrings(data: Buffer | undefined, count: number): Buffer[] | undefined {
  if (!data) return undefined;
  const out: Buffer[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    if (offset + 4 > data.length) return undefined;
    const length = data.readUInt32BE(offset);
    if (offset + 4 + length > data.length) return undefined;
    out.push(data.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return out;
}

/** SSH_EXTENDED_DATA_STDERR: what SFTP clients print as the server's own words. */
const EXTENDED_DATA_STDERR = 1;

/**
 * Ends an SFTP session that was accepted only to say why it cannot go on (a session limit): the reason on the
 * channel's stderr, which OpenSSH's sftp, paramiko and others print, then exit-status 1 and the close. Where ssh2's
 * internals are not what this was written against, the session is only closed.
 */
export function refuseSession(sftp: SFTPWrapper, reason: string): void {
  const internals = sftp as unknown as SftpInternals & { end(): void };
  const protocol = internals._protocol;
  if (typeof protocol?.channelExtData === 'function' && typeof internals.outgoing?.id === 'number') {
    protocol.channelExtData(internals.outgoing.id, Buffer.from(`${reason}\r\n`), EXTENDED_DATA_STDERR);
    protocol.exitStatus(internals.outgoing.id, 1);
  }
  internals.end();
}
