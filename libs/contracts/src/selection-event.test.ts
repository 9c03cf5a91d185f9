import { expect } from 'chai';
import { CallResultEventSchema } from './call-result-event';
import { isProbeSelection, selectionEventId } from './selection-event';

describe('selectionEventId', () => {
  it('is a fixed function of project and selection (pinned: publishers in other languages must match it)', () => {
    // The api used this exact derivation before it moved here; a change would count retried reports twice.
    expect(selectionEventId('0123456789abcdef0123456789abcdef', 'sel-1')).to.equal('2bdeb01c-5db5-5f9a-aeb9-e6c74b9bfc10');
    expect(selectionEventId('0'.repeat(32), 'abc')).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(selectionEventId('p1', 's')).to.not.equal(selectionEventId('p2', 's'));
    expect(selectionEventId('p', 's1')).to.not.equal(selectionEventId('p', 's2'));
  });

  it('is a UUID the event schema accepts', () => {
    const eventId = selectionEventId('a'.repeat(32), 'f'.repeat(32));
    expect(CallResultEventSchema.shape.eventId.safeParse(eventId).success).to.equal(true);
  });

  it('names probe selections by their suffix', () => {
    expect(isProbeSelection('abc.probe')).to.equal(true);
    expect(isProbeSelection('abc')).to.equal(false);
  });
});
