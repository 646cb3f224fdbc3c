import { describe, expect, it } from 'vitest';
import { mapLimit } from '../../src/deploy/engine-deps.js';

describe('mapLimit', () => {
  it('runs at most `limit` tasks at once and keeps the order of results', async () => {
    let running = 0;
    let peak = 0;
    const results = await mapLimit([5, 1, 4, 2, 3], 2, async (value) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, value));
      running--;
      return value * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
  });

  it('starts no new task after one failed', async () => {
    const started: number[] = [];
    await expect(
      mapLimit([1, 2, 3, 4, 5, 6], 2, async (value) => {
        started.push(value);
        if (value === 2) throw new Error('stop');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }),
    ).rejects.toThrow('stop');
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(started).toEqual([1, 2]);
  });
});
