/**
 * The JS XOR of the CFB step, 64 bits at a time when both operands are 8-byte aligned. Self-contained on purpose: the
 * worker thread's inline source embeds this very function (pgp-worker.ts), so main thread and worker share one.
 */
export function xorJs(dst: Buffer, src: Buffer, srcOffset: number, n: number): void {
  const dOff = dst.byteOffset;
  const sOff = src.byteOffset + srcOffset;
  let i = 0;
  if (dOff % 8 === 0 && sOff % 8 === 0) {
    const words = n >>> 3;
    const d = new BigInt64Array(dst.buffer, dOff, words);
    const s = new BigInt64Array(src.buffer, sOff, words);
    for (let w = 0; w < words; w++) d[w]! ^= s[w]!;
    i = words << 3;
  }
  for (; i < n; i++) dst[i]! ^= src[srcOffset + i]!;
}
