import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AwsClients, assertAccount, awsTarget, awsTimeoutSeconds } from '../../src/aws/clients.js';
import { setWaitReporter } from '../../src/aws/waits.js';
import type { Environment } from '../../src/core/config/schema.js';

const env = (region: string) => ({ name: 'dev', region }) as Environment;
const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

describe('awsTarget', () => {
  it('takes --region over the config, and the config over $AWS_REGION', () => {
    process.env.AWS_REGION = 'us-east-1';
    expect(awsTarget(env('eu-west-2'), { region: 'ap-southeast-2' }).region).toBe('ap-southeast-2');
    expect(awsTarget(env('eu-west-2'), {}).region).toBe('eu-west-2');
    expect(awsTarget(env(''), {}).region).toBe('us-east-1');
  });

  it('takes --profile over $AWS_PROFILE', () => {
    process.env.AWS_PROFILE = 'ops';
    expect(awsTarget(env('eu-west-2'), { profile: 'prod-admin' }).profile).toBe('prod-admin');
    expect(awsTarget(env('eu-west-2'), {}).profile).toBe('ops');
  });

  it('fails as a usage error naming --region when there is no region at all', () => {
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    expect(() => awsTarget(env(''), {})).toThrow(expect.objectContaining({ code: 'AWS_REGION_MISSING' }));
  });
});

describe('bounded waits', () => {
  it('a silent endpoint (accepts TCP, never answers) ends in AWS_TIMEOUT naming the endpoint and region', async () => {
    const sockets: Socket[] = [];
    const server = createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const port = (server.address() as AddressInfo).port;
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      SFTPCTL_AWS_TIMEOUT: '0.6',
    });
    delete process.env.AWS_PROFILE;
    const waits: string[] = [];
    setWaitReporter((label) => {
      waits.push(label);
      return () => {};
    });
    try {
      const clients = new AwsClients({ region: 'eu-west-2', profile: undefined });
      const error = await assertAccount(clients, env('eu-west-2')).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'AWS_TIMEOUT' });
      expect((error as Error).message).toContain(`http://127.0.0.1:${port}`);
      expect((error as Error).message).toContain('region eu-west-2');
      expect((error as { hint: string }).hint).toContain('SFTPCTL_AWS_TIMEOUT');
      expect(sockets.length).toBeGreaterThan(0);
      expect(waits[0]).toMatch(/Waiting for AWS sts GetCallerIdentity \(eu-west-2\)/);
    } finally {
      setWaitReporter(undefined);
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });

  it('refuses a SFTPCTL_AWS_TIMEOUT that is not a number of seconds', () => {
    for (const value of ['soon', '-1', '0', '99999'])
      expect(() => awsTimeoutSeconds({ SFTPCTL_AWS_TIMEOUT: value })).toThrow(
        expect.objectContaining({ code: 'INVALID_ENV', message: expect.stringContaining('SFTPCTL_AWS_TIMEOUT') }),
      );
    expect(awsTimeoutSeconds({})).toBe(30);
    expect(awsTimeoutSeconds({ SFTPCTL_AWS_TIMEOUT: '2.5' })).toBe(2.5);
  });
});

describe('profiles like the AWS CLI', () => {
  const withAwsFiles = async (config: string, credentials: string, work: () => Promise<void>) => {
    const dir = await mkdtemp(join(tmpdir(), 'sftpctl-aws-'));
    await writeFile(join(dir, 'config'), config);
    await writeFile(join(dir, 'credentials'), credentials);
    Object.assign(process.env, {
      AWS_CONFIG_FILE: join(dir, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
      SFTPCTL_AWS_TIMEOUT: '2',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    });
    for (const name of ['AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'])
      delete process.env[name];
    try {
      await work();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  const identify = (profile: string | undefined) =>
    assertAccount(new AwsClients({ region: 'eu-west-2', profile }), env('eu-west-2')).catch((error: unknown) => error);

  it('a mistyped profile is named, with the nearest one and every profile in both files', async () => {
    await withAwsFiles(
      '[default]\nregion = eu-west-2\n[profile prod-admin]\nregion = eu-west-1\n[sso-session corp]\nsso_region = eu-west-1\n',
      '[ci]\naws_access_key_id = AKID\naws_secret_access_key = s\n',
      async () => {
        const error = await identify('prod-admn');
        expect(error).toMatchObject({ code: 'AWS_PROFILE_UNKNOWN', kind: 'usage' });
        expect((error as Error).message).toContain('"prod-admn" (from --profile)');
        expect((error as Error).message).toContain(process.env.AWS_CONFIG_FILE);
        expect((error as { hint: string }).hint).toBe(
          'Did you mean prod-admin? Profiles there: ci, default, prod-admin. Nothing was changed.',
        );
        process.env.AWS_PROFILE = 'nosuch';
        const fromEnv = await identify('nosuch');
        expect((fromEnv as Error).message).toContain('(from AWS_PROFILE)');
      },
    );
  });

  it('no profiles at all: says to run aws configure', async () => {
    await withAwsFiles('', '', async () => {
      const error = await identify('prod');
      expect(error).toMatchObject({ code: 'AWS_PROFILE_UNKNOWN' });
      expect((error as { hint: string }).hint).toMatch(/aws configure/);
    });
  });

  it('an SSO profile without a sign-in says the exact aws sso login to run', async () => {
    await withAwsFiles(
      '[profile corp]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Admin\nregion = eu-west-2\n' +
        '[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n',
      '',
      async () => {
        process.env.HOME = dirname(process.env.AWS_CONFIG_FILE as string); // no cached SSO token here
        const error = await identify('corp');
        expect(error).toMatchObject({ code: 'AWS_SSO_LOGIN_REQUIRED' });
        expect((error as { hint: string }).hint).toContain('`aws sso login --profile corp`');
      },
    );
  });

  it('an MFA profile with no terminal fails clearly instead of "no MFA code callback"', async () => {
    await withAwsFiles(
      '[profile base]\nregion = eu-west-2\n[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/Admin\n' +
        'source_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\n',
      '[base]\naws_access_key_id = AKID\naws_secret_access_key = s\n',
      async () => {
        const error = await identify('admin');
        expect(error).toMatchObject({ code: 'AWS_MFA_REQUIRED' });
        expect((error as Error).message).toContain('arn:aws:iam::123456789012:mfa/alice');
        expect((error as { hint: string }).hint).toContain('terminal');
      },
    );
  });
});
