import { expect } from 'chai';
import { RedisKeys } from '@apg/platform';
import { parseNotification, type Notification } from './notifications';

describe('aggregator notifications', () => {
  const keys = new RedisKeys('p:');
  const cases: { name: string; channel: string; message: string; want: Notification | null }[] = [
    { name: 'instances of a project changed', channel: 'p:events:registry', message: '{"kind":"instances","projectId":"x"}', want: { kind: 'instances', projectId: 'x' } },
    { name: 'auth changed', channel: 'p:events:registry', message: '{"kind":"auth"}', want: { kind: 'auth' } },
    { name: 'an admin forced a breaker', channel: 'p:events:control', message: '{"kind":"forced","instanceId":"i"}', want: { kind: 'forced', instanceId: 'i' } },
    { name: 'forced on the registry channel', channel: 'p:events:registry', message: '{"kind":"forced","instanceId":"i"}', want: null },
    { name: 'instances without project', channel: 'p:events:registry', message: '{"kind":"instances"}', want: null },
    { name: 'malformed', channel: 'p:events:control', message: '{', want: null },
    { name: 'another channel', channel: 'p:events:breaker', message: '{"kind":"auth"}', want: null },
    { name: 'a JSON string', channel: 'p:events:registry', message: '"auth"', want: null },
  ];
  for (const c of cases) it(c.name, () => expect(parseNotification(c.channel, c.message, keys)).to.deep.equal(c.want));
});
