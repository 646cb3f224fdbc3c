import { describe, expect, it } from 'vitest';
import { RequestOrder } from '../../src/local/sftp/ordering.js';
import { MAX_OFFSET, offsetOf } from '../../src/local/sftp/session.js';

/** Requests whose completion the test controls: each resolves when `release(name)` is called. */
function gate() {
  const releases = new Map<string, () => void>();
  const started: string[] = [];
  const work = (name: string) => () => {
    started.push(name);
    return new Promise<string>((resolve) => releases.set(name, () => resolve(name)));
  };
  const release = async (name: string) => {
    for (let i = 0; i < 20 && !releases.has(name); i++) await new Promise((resolve) => setImmediate(resolve));
    releases.get(name)?.();
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  return { work, release, started };
}

describe('request order on one handle', () => {
  it('replies in request order although the work finishes in another order; non-overlapping writes run together', async () => {
    const order = new RequestOrder();
    const { work, release, started } = gate();
    const replies: string[] = [];
    const send = (outcome: { ok: boolean; value?: string }) => replies.push(String(outcome.value));
    order.schedule({ start: 0, end: 10, write: true }, work('w1'), send);
    order.schedule({ start: 10, end: 20, write: true }, work('w2'), send);
    order.schedule({ start: 20, end: 30, write: true }, work('w3'), send);
    await release('w3');
    await release('w2');
    expect(started).toEqual(['w1', 'w2', 'w3']); // all three started at once
    expect(replies).toEqual([]); // w1 holds the replies back
    await release('w1');
    await order.idle();
    expect(replies).toEqual(['w1', 'w2', 'w3']);
  });

  it('runs a read that overlaps an earlier write after it, and a write after an earlier overlapping read', async () => {
    const order = new RequestOrder();
    const { work, release, started } = gate();
    const send = () => undefined;
    order.schedule({ start: 0, end: 100, write: true }, work('write'), send);
    order.schedule({ start: 50, end: 60, write: false }, work('read-overlapping'), send);
    order.schedule({ start: 100, end: 200, write: false }, work('read-beside'), send);
    order.schedule({ start: 150, end: 160, write: true }, work('write-over-read'), send);
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual(['write', 'read-beside']);
    await release('write');
    expect(started).toEqual(['write', 'read-beside', 'read-overlapping']);
    await release('read-beside');
    expect(started).toContain('write-over-read');
    await release('read-overlapping');
    await release('write-over-read');
    await order.idle();
  });

  it('treats range-less requests (FSTAT, FSETSTAT, CLOSE) as barriers both ways', async () => {
    const order = new RequestOrder();
    const { work, release, started } = gate();
    const send = () => undefined;
    order.schedule({ start: 0, end: 10, write: false }, work('read'), send);
    order.schedule(undefined, work('fstat'), send);
    order.schedule({ start: 1000, end: 1010, write: false }, work('later-read'), send);
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual(['read']);
    await release('read');
    expect(started).toEqual(['read', 'fstat']);
    await release('fstat');
    expect(started).toEqual(['read', 'fstat', 'later-read']);
    await release('later-read');
    await order.idle();
  });

  it('keeps going after a failed request and a send that throws', async () => {
    const order = new RequestOrder();
    const replies: string[] = [];
    order.schedule(
      undefined,
      async () => {
        throw new Error('boom');
      },
      (outcome) => {
        replies.push(outcome.ok ? 'ok' : 'error');
        throw new Error('send failed');
      },
    );
    order.schedule(
      undefined,
      async () => 'fine',
      (outcome) => replies.push(outcome.ok ? 'ok' : 'error'),
    );
    await order.idle();
    expect(replies).toEqual(['error', 'ok']);
  });
});

describe('64-bit offsets', () => {
  it('converts exactly up to the limit and refuses beyond, whether ssh2 gives a BigInt or a number', () => {
    expect(offsetOf(0n)).toBe(0);
    expect(offsetOf(BigInt(MAX_OFFSET))).toBe(MAX_OFFSET);
    expect(offsetOf(BigInt(MAX_OFFSET) + 1n)).toBeUndefined();
    expect(offsetOf(2n ** 63n - 10n)).toBeUndefined();
    expect(offsetOf(2n ** 64n - 1n)).toBeUndefined();
    expect(offsetOf(2n ** 53n + 1n)).toBeUndefined();
    expect(offsetOf(12345)).toBe(12345);
    expect(offsetOf(2 ** 63)).toBeUndefined();
    expect(offsetOf(-1)).toBeUndefined();
  });
});
