import { describe, expect, it } from 'vitest';
import type { WebhookEvent } from '../../src/workflows/definitions.js';
import { eventKey, strongerAction, touchedRecords } from '../../src/workflows/webhook-events.js';

const base: WebhookEvent = { eventId: 1, subscriptionId: 10, portalId: 5, occurredAt: 1_700_000_000_000, subscriptionType: 'contact.propertyChange', objectId: '42' };
const ALL = ['contacts', 'companies', 'deals', 'tickets'];

describe('webhook events', () => {
  it('are keyed by subscription, event id and time, as HubSpot advises', () => {
    expect(eventKey(base)).toBe('10:1:1700000000000');
    expect(eventKey({ ...base, occurredAt: base.occurredAt + 1 })).not.toBe(eventKey(base));
    expect(eventKey({ ...base, subscriptionId: 11 })).not.toBe(eventKey(base));
  });

  it('touch the record they name, by type', () => {
    expect(touchedRecords(base, ALL)).toEqual([{ objectType: 'contacts', id: '42' }]);
    expect(touchedRecords({ ...base, subscriptionType: 'deal.deletion' }, ALL)).toEqual([{ objectType: 'deals', id: '42' }]);
    expect(touchedRecords({ ...base, subscriptionType: 'object.creation', objectTypeId: '0-5' }, ALL)).toEqual([{ objectType: 'tickets', id: '42' }]);
    expect(touchedRecords({ ...base, subscriptionType: 'object.creation', objectTypeId: '2-77' }, [...ALL, '2-77'])).toEqual([{ objectType: '2-77', id: '42' }]);
  });

  it('name a custom object as the connection does: by its fully qualified name when it was configured so', () => {
    const car = { ...base, subscriptionType: 'object.propertyChange', objectTypeId: '2-77' };
    expect(touchedRecords(car, [...ALL, 'p5_cars'], { '2-77': 'p5_cars' })).toEqual([{ objectType: 'p5_cars', id: '42' }]);
    expect(touchedRecords(car, [...ALL, 'p5_cars'])).toEqual([]);
  });

  it('mark restores, whose partners get their edges back', () => {
    expect(touchedRecords({ ...base, subscriptionType: 'company.restore' }, ALL)).toEqual([{ objectType: 'companies', id: '42', restore: true }]);
  });

  it('keep the strongest action when several events touch one record: purge, then restore, then read', () => {
    const read = { objectType: 'contacts', id: '1' };
    expect(strongerAction(undefined, read)).toBe('read');
    expect(strongerAction('read', { ...read, restore: true })).toBe('restore');
    expect(strongerAction('restore', read)).toBe('restore');
    expect(strongerAction('restore', { ...read, purge: true })).toBe('purge');
    expect(strongerAction('purge', { ...read, restore: true })).toBe('purge');
  });

  it('ignore types the connection does not sync', () => {
    expect(touchedRecords(base, ['deals'])).toEqual([]);
    expect(touchedRecords({ ...base, subscriptionType: 'line_item.creation' }, ALL)).toEqual([]);
  });

  it('mark GDPR deletions for purging', () => {
    expect(touchedRecords({ ...base, subscriptionType: 'contact.privacyDeletion' }, ALL)).toEqual([{ objectType: 'contacts', id: '42', purge: true }]);
  });

  it('re-read the survivor of a merge', () => {
    const merge = { ...base, subscriptionType: 'deal.merge', primaryObjectId: '1', mergedObjectIds: ['2'], newObjectId: '3' };
    expect(touchedRecords(merge, ALL)).toEqual([{ objectType: 'deals', id: '3' }]);
    expect(touchedRecords({ ...merge, subscriptionType: 'contact.merge', newObjectId: undefined }, ALL)).toEqual([{ objectType: 'contacts', id: '1' }]);
  });

  it('re-read both ends of an association change', () => {
    const change = { ...base, subscriptionType: 'contact.associationChange', associationType: 'CONTACT_TO_COMPANY', fromObjectId: '42', toObjectId: '7' };
    expect(touchedRecords(change, ALL)).toEqual([
      { objectType: 'contacts', id: '42' },
      { objectType: 'companies', id: '7' },
    ]);
    expect(touchedRecords({ ...change, associationType: 'CONTACT_TO_COMPANY_UNLABELED' }, ALL)).toEqual(touchedRecords(change, ALL));
    expect(touchedRecords({ ...change, subscriptionType: 'company.associationChange', associationType: 'COMPANY_TO_CONTACT', fromObjectId: '7', toObjectId: '42' }, ALL)).toEqual([
      { objectType: 'companies', id: '7' },
      { objectType: 'contacts', id: '42' },
    ]);
  });
});
