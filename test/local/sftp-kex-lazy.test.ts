import { afterAll, beforeAll, expect, it } from 'vitest';
import { isMlKemLoaded } from '../../src/local/sftp/kex-mlkem768.js';
import { type KexHarness, startKexHarness } from './kex-harness.js';

/** Its own file (so its own module graph): @noble/post-quantum loads only when ML-KEM is negotiated. */

let harness: KexHarness;

beforeAll(async () => {
  harness = await startKexHarness();
});

afterAll(async () => {
  await harness?.close();
});

it('loads no ML-KEM code until an ML-KEM exchange is negotiated', async () => {
  expect(isMlKemLoaded()).toBe(false);
  expect(await harness.roundTrip('sntrup761x25519-sha512', 'sntrup.bin')).toBe('sntrup761x25519-sha512');
  expect(await harness.roundTrip('curve25519-sha256', 'curve.bin')).toBe('curve25519-sha256');
  expect(isMlKemLoaded()).toBe(false);
  expect(await harness.roundTrip('mlkem768x25519-sha256', 'mlkem.bin')).toBe('mlkem768x25519-sha256');
  expect(isMlKemLoaded()).toBe(true);
}, 60_000);
