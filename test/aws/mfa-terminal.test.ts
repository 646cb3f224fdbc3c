import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, ROOT } from '../helpers/cli.js';
import { TmuxSession } from '../helpers/terminal.js';

let session: TmuxSession | undefined;
afterEach(() => session?.kill());

const sts = (action: string, result: string) =>
  `<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><${action}Result>${result}</${action}Result>` +
  `<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></${action}Response>`;

/** A local STS that answers AssumeRole (recording the MFA token code) and GetCallerIdentity. */
async function fakeSts() {
  const calls: { action: string; body: string; authorization: string }[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const action = new URLSearchParams(body).get('Action') ?? '';
      calls.push({ action, body, authorization: String(request.headers.authorization ?? '') });
      response.setHeader('content-type', 'text/xml');
      if (action === 'AssumeRole') {
        response.end(
          sts(
            'AssumeRole',
            '<Credentials><AccessKeyId>ASIAFROMMFA</AccessKeyId><SecretAccessKey>s</SecretAccessKey>' +
              '<SessionToken>t</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>' +
              '<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/Admin/x</Arn><AssumedRoleId>AROA:x</AssumedRoleId></AssumedRoleUser>',
          ),
        );
      } else if (action === 'GetCallerIdentity') {
        response.end(
          sts(
            'GetCallerIdentity',
            '<Arn>arn:aws:sts::123456789012:assumed-role/Admin/x</Arn><UserId>AROA:x</UserId><Account>123456789012</Account>',
          ),
        );
      } else {
        response.statusCode = 400;
        response.end(
          '<ErrorResponse><Error><Type>Sender</Type><Code>Stop</Code><Message>test ends here</Message></Error></ErrorResponse>',
        );
      }
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls, close: () => server.close() };
}

describe('an MFA profile at a terminal', () => {
  it('asks for the token code hidden, and assumes the role with it', async () => {
    const server = await fakeSts();
    const dir = await mkdtemp(join(tmpdir(), 'sftpctl-mfa-'));
    try {
      await cp(join(ROOT, 'examples'), dir, { recursive: true });
      await writeFile(
        join(dir, 'aws-config'),
        '[profile base]\nregion = eu-west-2\n[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/Admin\n' +
          'source_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\n',
      );
      await writeFile(
        join(dir, 'aws-credentials'),
        '[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = s\n',
      );
      session = new TmuxSession('mfa', `${process.execPath} ${BIN} status --env prod --profile admin`, {
        cwd: dir,
        env: {
          AWS_CONFIG_FILE: join(dir, 'aws-config'),
          AWS_SHARED_CREDENTIALS_FILE: join(dir, 'aws-credentials'),
          AWS_ENDPOINT_URL: server.url,
          SFTPCTL_AWS_TIMEOUT: '5',
          NO_COLOR: '1',
        },
      });
      await session.waitFor(
        (screen) => screen.includes('MFA code for arn:aws:iam::123456789012:mfa/alice (profile admin)'),
        'the MFA prompt',
      );
      session.keys('123456');
      session.keys('Enter');
      const screen = await session.waitFor((text) => text.includes('[exit '), 'the command to end');
      expect(screen).not.toMatch(/\b123456\b/); // hidden input: the code typed is never shown
      expect(screen).not.toMatch(/WARN/);
      const assume = server.calls.find((call) => call.action === 'AssumeRole');
      expect(assume?.body).toContain('TokenCode=123456');
      expect(assume?.body).toContain('SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Falice');
      const identity = server.calls.find((call) => call.action === 'GetCallerIdentity');
      expect(identity?.authorization).toContain('Credential=ASIAFROMMFA/');
      expect(screen).not.toMatch(/no MFA code callback|AWS_CREDENTIALS/);
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
