import { startFakeEndpoint } from './fake-endpoint.js';
import { evaluate, type PolicyDocument } from './iam-policy.js';

/**
 * Secrets Manager's GetSecretValue over its real wire protocol (AWS JSON 1.1), for the function bundles: the SDK
 * inside them talks to it through `AWS_ENDPOINT_URL_SECRETS_MANAGER`. A secret created by CloudFormation has no
 * value until `sftpctl secrets load` writes one; asking for it then is the ResourceNotFoundException AWS gives. The
 * caller's role policies (named by the session token) are enforced on the secret's ARN.
 */
export async function startFakeSecretsManager(policiesOf: (principal: string) => PolicyDocument[] | undefined) {
  /** ARN → value; an ARN mapped to undefined is a secret that exists without a value. */
  const secrets = new Map<string, string | undefined>();
  const calls: { principal: string; secretId: string; outcome: string }[] = [];
  const { endpoint, stop } = await startFakeEndpoint((request, payload, response) => {
    const reply = (status: number, body: object, type?: string) => {
      response.writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        ...(type ? { 'x-amzn-errortype': type } : {}),
      });
      response.end(JSON.stringify(type ? { __type: type, ...body } : body));
    };
    const operation = String(request.headers['x-amz-target'] ?? '');
    const principal = String(request.headers['x-amz-security-token'] ?? '');
    const input = JSON.parse(payload.toString('utf8') || '{}') as { SecretId?: string };
    const secretId = input.SecretId ?? '';
    const record = (outcome: string) => calls.push({ principal, secretId, outcome });
    if (operation !== 'secretsmanager.GetSecretValue') {
      record(`unsupported ${operation}`);
      return reply(400, { message: `${operation} is not modelled` }, 'InvalidRequestException');
    }
    const decision = evaluate(policiesOf(principal) ?? [], {
      action: 'secretsmanager:GetSecretValue',
      resource: secretId,
    });
    if (!decision.allowed) {
      record('denied');
      return reply(
        400,
        {
          message: `User: ${principal} is not authorized to perform: secretsmanager:GetSecretValue on resource: ${secretId} because ${decision.reason}`,
        },
        'AccessDeniedException',
      );
    }
    if (!secrets.has(secretId)) {
      record('missing');
      return reply(400, { message: "Secrets Manager can't find the specified secret." }, 'ResourceNotFoundException');
    }
    const value = secrets.get(secretId);
    if (value === undefined) {
      record('no value');
      return reply(
        400,
        { message: "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT" },
        'ResourceNotFoundException',
      );
    }
    record('ok');
    reply(200, {
      ARN: secretId,
      Name: secretId.split(':').at(-1),
      SecretString: value,
      VersionId: '00000000-0000-4000-8000-000000000000',
      VersionStages: ['AWSCURRENT'],
      CreatedDate: 1_700_000_000,
    });
  });
  return {
    endpoint,
    secrets,
    calls,
    stop,
  };
}
