import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { EaxDecipher, EaxKey } from '../../../src/core/crypto/pgp-eax.js';

const h = (s: string) => Buffer.from(s, 'hex');

// The test vectors of the EAX paper (Bellare, Rogaway, Wagner 2004, appendix): key, nonce, header, message, cipher, tag.
const VECTORS = [
  [
    '233952DEE4D5ED5F9B9C6D6FF80FF478',
    '62EC67F9C3A4A407FCB2A8C49031A8B3',
    '6BFB914FD07EAE6B',
    '',
    '',
    'E037830E8389F27B025A2D6527E79D01',
  ],
  [
    '91945D3F4DCBEE0BF45EF52255F095A4',
    'BECAF043B0A23D843194BA972C66DEBD',
    'FA3BFD4806EB53FA',
    'F7FB',
    '19DD',
    '5C4C9331049D0BDAB0277408F67967E5',
  ],
  [
    '01F74AD64077F2E704C0F60ADA3DD523',
    '70C3DB4F0D26368400A10ED05D2BFF5E',
    '234A3463C1264AC6',
    '1A47CB4933',
    'D851D5BAE0',
    '3A59F238A23E39199DC9266626C40F80',
  ],
  [
    '8395FCF1E95BEBD697BD010BC766AAC3',
    '22E7ADD93CFC6393C57EC0B3C17D6B44',
    '126735FCC320D25A',
    'CA40D7446E545FFAED3BD12A740A659FFBBB3CEAB7',
    'CB8920F87A6C75CFF39627B56E3ED197C552D295A7',
    'CFC46AFC253B4652B1AF3795B124AB6E',
  ],
] as const;

describe('EAX', () => {
  it.each(VECTORS)(
    'paper vector %s: decrypts in any split, refuses a wrong tag',
    (key, nonce, header, message, cipher, tag) => {
      const k = new EaxKey(h(key));
      const ct = h(cipher);
      for (const split of [0, 1, 3, ct.length]) {
        const d = new EaxDecipher(k, h(nonce), h(header));
        const at = Math.min(split, ct.length);
        const out = Buffer.concat([d.update(ct.subarray(0, at)), d.update(ct.subarray(at))]);
        d.final(h(tag));
        expect(out.toString('hex').toUpperCase()).toBe(message);
      }
      const wrong = h(tag);
      wrong[15]! ^= 1;
      expect(() => new EaxDecipher(k, h(nonce), h(header)).final(wrong)).toThrow(/tag mismatch/);
    },
  );
});
