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
  _protocol: {
    channelData(id: number, data: Buffer): void;
    channelWindowAdjust(id: number, amount: number): void;
    exitStatus(id: number, status: number): void;
  };
  incoming: { window: number; state: string };
  outgoing: { id: number; window: number; packetSize: number; state: string };
  push(data: Buffer | null): unknown;
  emit(event: string, ...args: unknown[]): boolean;
}

const SSH_FXP_INIT = 1;
const SSH_FXP_VERSION = 2;
const SSH_FXP_EXTENDED_REPLY = 201;
/** ssh2's channel window (lib/Channel.js MAX_WINDOW). */
const CHANNEL_WINDOW = 2 * 1024 * 1024;

export interface Wire {
  /** Sends an EXTENDED_REPLY carrying `payload`. */
  extendedReply(reqid: number, payload: Buffer): void;
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
 * Sends one SFTP packet on the channel the way ssh2's own replies go: straight out when the window allows and nothing
 * is queued, else behind ssh2's queue (drained in order when the client grants window). It never uses up the window
 * itself, so ssh2's invariant "window 0 ⇒ a drain is pending" holds.
 */
function sendPacket(sftp: SftpInternals, packet: Buffer): void {
  const out = sftp.outgoing;
  if (out.state !== 'open') return;
  if (sftp._buffer.length > 0 || out.window === 0) {
    sftp._buffer.push(packet);
    return;
  }
  if (out.window > packet.length && packet.length <= out.packetSize) {
    out.window -= packet.length;
    sftp._protocol.channelData(out.id, packet);
    return;
  }
  // A sliver of window left: wait for the client to grant more (or for ssh2 to queue something) and try again.
  setTimeout(() => sendPacket(sftp, packet), 5).unref();
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
