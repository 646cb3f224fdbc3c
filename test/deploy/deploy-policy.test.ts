import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deployPolicy, ENGINE_CALLS, type PolicyDocument, resourceTypes } from '../../src/deploy/deploy-policy.js';
import { RESOURCE_HANDLER_PERMISSIONS } from '../../src/deploy/resource-permissions.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { evaluate } from '../helpers/iam-policy.js';
import { EXAMPLE_PATH, exampleConfig } from '../templates/fixtures.js';

const ENVS = ['dev', 'test', 'prod'] as const;
const ROLE = 'arn:aws:iam::123456789012:role/sftpctl-deploy';
const config = await exampleConfig();

/**
 * The SDK commands the deploy command can send: every `XCommand` imported from `@aws-sdk/client-*` (statically or by
 * `await import`) in the modules `src/commands/deploy.ts` reaches through relative imports. Function code
 * (src/lambda) runs in Lambda with its own role, and templates (src/templates) send nothing: the walk stops there.
 */
function engineCommands(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const seen = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.[^'"]+)\.js['"]/g)) {
      const target = resolve(dirname(file), `${match[1]}.ts`);
      const where = relative(ROOT, target);
      if (where.startsWith('src/lambda/') || where.startsWith('src/templates/')) continue;
      if (existsSync(target)) walk(target);
    }
    const imports = [
      ...source.matchAll(/import\s*\{([^{}]*)\}\s*from\s*['"]@aws-sdk\/client-[a-z0-9-]+['"]/g),
      ...source.matchAll(/const\s*\{([^{}]*)\}\s*=\s*await\s+import\(\s*['"]@aws-sdk\/client-[a-z0-9-]+['"]\s*\)/g),
    ];
    for (const match of imports)
      for (const name of match[1]!.split(',').map(
        (part) =>
          part
            .trim()
            .replace(/^type\s+/, '')
            .split(/\s|:/)[0]!,
      ))
        if (name.endsWith('Command')) found.set(name, [...(found.get(name) ?? []), relative(ROOT, file)]);
  };
  walk(join(ROOT, 'src/commands/deploy.ts'));
  return found;
}

const actionsOf = (policy: PolicyDocument) => new Set(policy.Statement.flatMap((statement) => statement.Action));

describe('sftpctl deploy --print-policy', () => {
  it('the source scan finds the commands the engine sends (it cannot pass by finding nothing)', () => {
    const commands = engineCommands();
    for (const known of [
      'CreateChangeSetCommand',
      'ExecuteChangeSetCommand',
      'PutObjectCommand',
      'ImportSshPublicKeyCommand',
    ])
      expect(commands.has(known), known).toBe(true);
    // Lambda-only calls are not the deploy's: the walk does not reach them.
    expect(commands.has('GetObjectTaggingCommand')).toBe(false);
  });

  it('(a) every SDK command the deploy engine sends is in ENGINE_CALLS and its actions are in the caller policy', () => {
    const unknown = [...engineCommands()].filter(([name]) => !(name in ENGINE_CALLS));
    expect(
      unknown.map(([name, files]) => `${name} (sent from ${files.join(', ')}) has no IAM actions in ENGINE_CALLS`),
    ).toEqual([]);
    for (const roleArn of [undefined, ROLE]) {
      const granted = actionsOf(deployPolicy({ config, env: 'prod', ...(roleArn ? { roleArn } : {}) }));
      for (const name of engineCommands().keys())
        for (const action of ENGINE_CALLS[name]!) expect(granted.has(action), `${name} → ${action}`).toBe(true);
    }
  });

  it('(b) every resource type of every environment has handler permissions, all granted to whoever runs CloudFormation', () => {
    for (const env of ENVS) {
      const types = resourceTypes(config, env);
      expect(
        types.filter((type) => !RESOURCE_HANDLER_PERMISSIONS[type]),
        'types without handler permissions',
      ).toEqual([]);
      const alone = actionsOf(deployPolicy({ config, env }));
      const serviceRole = actionsOf(deployPolicy({ config, env, roleArn: ROLE, for: 'service-role' }));
      for (const type of types) {
        const handlers = RESOURCE_HANDLER_PERMISSIONS[type]!;
        for (const action of [...handlers.create, ...handlers.read, ...handlers.update, ...handlers.delete]) {
          expect(alone.has(action), `${env} ${type} ${action}`).toBe(true);
          expect(serviceRole.has(action), `${env} ${type} ${action} (service role)`).toBe(true);
        }
      }
    }
  });

  it('fails loudly when a template uses a resource type with no permission data', () => {
    // Every environment renders a VPC: with its data gone, the policy must refuse rather than print less.
    const data = RESOURCE_HANDLER_PERMISSIONS as Record<string, unknown>;
    const saved = data['AWS::EC2::VPC'];
    delete data['AWS::EC2::VPC'];
    try {
      expect(() => deployPolicy({ config, env: 'dev' })).toThrow(/no handler permissions for AWS::EC2::VPC/);
    } finally {
      data['AWS::EC2::VPC'] = saved;
    }
  });

  it('with --role-arn the caller gets the engine part and iam:PassRole for that role only; the service role the rest', () => {
    const caller = deployPolicy({ config, env: 'prod', roleArn: ROLE });
    const service = deployPolicy({ config, env: 'prod', roleArn: ROLE, for: 'service-role' });
    const callerActions = actionsOf(caller);
    expect(callerActions.has('iam:PassRole')).toBe(true);
    expect(callerActions.has('ec2:CreateVpc')).toBe(false);
    expect(actionsOf(service).has('ec2:CreateVpc')).toBe(true);
    expect(actionsOf(service).has('cloudformation:ExecuteChangeSet')).toBe(false);
    const pass = (role: string) =>
      evaluate([caller as never], {
        action: 'iam:PassRole',
        resource: role,
        context: { 'iam:PassedToService': 'cloudformation.amazonaws.com' },
      }).allowed;
    expect(pass(ROLE)).toBe(true);
    expect(pass('arn:aws:iam::123456789012:role/Admin')).toBe(false);
  });

  it('(c) is a valid IAM policy document, scoped to the project/environment where IAM can scope', () => {
    for (const env of ENVS)
      for (const request of [{}, { roleArn: ROLE }, { roleArn: ROLE, for: 'service-role' as const }]) {
        const policy = deployPolicy({ config, env, ...request });
        expect(Object.keys(policy)).toEqual(['Version', 'Statement']);
        expect(policy.Version).toBe('2012-10-17');
        expect(policy.Statement.length).toBeGreaterThan(0);
        const sids = policy.Statement.map((statement) => statement.Sid);
        expect(new Set(sids).size).toBe(sids.length);
        for (const statement of policy.Statement) {
          expect(statement.Sid).toMatch(/^[A-Za-z0-9]+$/);
          expect(statement.Effect).toBe('Allow');
          expect(statement.Action.length).toBeGreaterThan(0);
          expect(new Set(statement.Action).size).toBe(statement.Action.length);
          for (const action of statement.Action) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z0-9]+$/);
          for (const resource of statement.Resource) {
            if (resource === '*') continue;
            expect(resource).toMatch(/^arn:aws:[a-z0-9-]+:[a-z0-9-]*:(\d{12}|\*)?:.+/);
            // Every named resource is this environment's (or the role given).
            expect(
              resource.includes(`acme-sftp-${env}-`) ||
                resource.includes(`/acme-sftp/${env}/`) ||
                resource === ROLE ||
                resource.endsWith(':user/*') ||
                resource.endsWith(':key/*'),
              resource,
            ).toBe(true);
          }
        }
        // An inline role policy holds at most 10,240 characters (whitespace not counted).
        expect(JSON.stringify(policy).length).toBeLessThanOrEqual(10_240);
      }
  });

  it('the scoped statements allow this environment and refuse another', () => {
    const policy = deployPolicy({ config, env: 'prod' }) as never;
    const allowed = (action: string, resource: string) => evaluate([policy], { action, resource }).allowed;
    expect(allowed('s3:CreateBucket', 'arn:aws:s3:::acme-sftp-prod-bank-upload')).toBe(true);
    expect(allowed('s3:CreateBucket', 'arn:aws:s3:::acme-sftp-dev-bank-upload')).toBe(false);
    expect(
      allowed(
        'cloudformation:ExecuteChangeSet',
        'arn:aws:cloudformation:eu-west-2:123456789012:stack/acme-sftp-prod-network/x',
      ),
    ).toBe(true);
    expect(
      allowed('cloudformation:ExecuteChangeSet', 'arn:aws:cloudformation:eu-west-2:123456789012:stack/other/x'),
    ).toBe(false);
    expect(
      allowed('iam:CreateRole', 'arn:aws:iam::123456789012:role/acme-sftp-prod-network-CloseDefaultSgRole-ABC'),
    ).toBe(true);
    expect(allowed('iam:CreateRole', 'arn:aws:iam::123456789012:role/Admin')).toBe(false);
  });

  it('prints the document from the CLI without touching AWS; service-role without --role-arn is a usage error', async () => {
    const printed = await runCli(['deploy', '--env', 'prod', '-c', EXAMPLE_PATH, '--print-policy'], {
      env: { AWS_ACCESS_KEY_ID: undefined, AWS_PROFILE: 'no-such-profile' },
    });
    expect(printed.stderr).toBe('');
    expect(printed.code).toBe(0);
    expect(JSON.parse(printed.stdout)).toEqual(deployPolicy({ config, env: 'prod' }));
    const refused = await runCli(['deploy', '--env', 'prod', '-c', EXAMPLE_PATH, '--print-policy', 'service-role']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--print-policy service-role: there is no service role without --role-arn/);
    expect(refused.stdout).toBe('');
  });
});
