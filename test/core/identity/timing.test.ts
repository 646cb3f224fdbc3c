import { describe, expect, it, vi } from 'vitest';

vi.mock('../../../src/core/identity/password.js', () => ({ verifyPassword: vi.fn(async () => false) }));
const { verifyPassword } = await import('../../../src/core/identity/password.js');
const { decideLogin } = await import('../../../src/core/identity/decide.js');

describe('a wrong user and a wrong password cost the same', () => {
  it('an FTPS request for an unknown user still derives the password (against no hash)', async () => {
    const decision = await decideLogin(
      undefined,
      { userName: 'ghost', sourceIp: '203.0.113.1', protocol: 'FTPS', password: 'guess' },
      { now: new Date(), passwordHash: 'scrypt$…' },
    );
    expect(decision).toEqual({ allowed: false, reason: 'unknown-user' });
    expect(verifyPassword).toHaveBeenCalledWith(undefined, 'guess');
  });
});
