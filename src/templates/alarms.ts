import { getAtt, type Intrinsic, ref, sub, type TemplateBuilder } from './cfn.js';

/** One minute: the shortest period of a standard-resolution alarm. */
export const ALARM_PERIOD_SECONDS = 60;

/**
 * The environment's alarm topic (SNS, encrypted with the environment key) with one subscription per configured
 * e-mail address and HTTPS webhook. Only this account's CloudWatch alarms may publish, only over TLS.
 */
export function addAlarmTopic(
  builder: TemplateBuilder,
  options: { name: string; keyId: string; partition: string; alerts: { email: string[]; https: string[] } },
): string {
  const topic = builder.add('AlarmTopic', {
    Type: 'AWS::SNS::Topic',
    Properties: {
      TopicName: options.name,
      DisplayName: `sftpctl alarms ${options.name}`.slice(0, 100),
      KmsMasterKeyId: getAtt(options.keyId, 'Arn'),
    },
  });
  builder.add('AlarmTopicPolicy', {
    Type: 'AWS::SNS::TopicPolicy',
    Properties: {
      Topics: [ref(topic)],
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AccountAlarmsPublish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: ref(topic),
            Condition: {
              StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') },
              ArnLike: {
                'aws:SourceArn': sub(`arn:${options.partition}:cloudwatch:\${AWS::Region}:\${AWS::AccountId}:alarm:*`),
              },
            },
          },
          {
            Sid: 'DenyInsecureTransport',
            Effect: 'Deny',
            Principal: '*',
            Action: 'sns:Publish',
            Resource: ref(topic),
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      },
    },
  });
  const subscriptions = [
    ...options.alerts.email.map((endpoint) => ({ protocol: 'email', endpoint })),
    ...options.alerts.https.map((endpoint) => ({ protocol: 'https', endpoint })),
  ];
  subscriptions.forEach(({ protocol, endpoint }, index) => {
    builder.add(`AlarmSubscription${index + 1}`, {
      Type: 'AWS::SNS::Subscription',
      Properties: { TopicArn: ref(topic), Protocol: protocol, Endpoint: endpoint },
    });
  });
  return topic;
}

/** What every alarm of a client stack notifies, on alarm and when it is OK again. */
export function alarmActions(topicArn: Intrinsic) {
  return { ActionsEnabled: true, AlarmActions: [topicArn], OKActions: [topicArn] };
}

/**
 * An alarm on the first occurrence: one datapoint of one minute at or above 1 (a failed file, a dead letter, a
 * function error, a sweeper find), no data counting as fine, notifying the environment's alarm topic.
 */
export function addFirstOccurrenceAlarm(
  builder: TemplateBuilder,
  id: string,
  alarm: {
    name: string;
    description: string;
    namespace: string;
    metricName: string;
    dimensions?: { Name: string; Value: unknown }[];
    statistic?: 'Sum' | 'Maximum';
    topic: Intrinsic;
  },
): string {
  return builder.add(id, {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: alarm.name,
      AlarmDescription: alarm.description,
      Namespace: alarm.namespace,
      MetricName: alarm.metricName,
      ...(alarm.dimensions ? { Dimensions: alarm.dimensions } : {}),
      Statistic: alarm.statistic ?? 'Sum',
      Period: ALARM_PERIOD_SECONDS,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      ...alarmActions(alarm.topic),
    },
  });
}
