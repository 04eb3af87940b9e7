// The same seed gives the same portal: records, ids, timestamps and associations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixture, type Fixture } from './sandbox-fixture.js';

describe('deterministic seeding', () => {
  let a: Fixture;
  let b: Fixture;
  beforeAll(async () => {
    [a, b] = await Promise.all([startFixture({}, 777001), startFixture({}, 777001)]);
  });
  afterAll(() => Promise.all([a.close(), b.close()]));

  const counts = { contacts: 400, companies: 60, deals: 90, tickets: 50 };

  it('gives identical ground truth for the same seed', async () => {
    const [ra, rb] = await Promise.all([a.control.seed(a.portalId, { seed: 99, ...counts }), b.control.seed(b.portalId, { seed: 99, ...counts })]);
    expect(ra.associations).toBe(rb.associations);
    const [ta, tb] = await Promise.all([a.control.groundTruth(a.portalId), b.control.groundTruth(b.portalId)]);
    expect(ta.objects.contacts).toHaveLength(400);
    expect(ta.associations.length).toBeGreaterThan(400);
    expect(ta).toEqual(tb);
  });

  it('gives realistic, associated data: unique emails, deals with amounts and stages, tickets linked to contacts', async () => {
    const t = await a.control.groundTruth(a.portalId);
    const emails = t.objects.contacts!.map((c) => c.properties.email);
    expect(new Set(emails).size).toBe(emails.length);
    expect(emails.every((e) => /^[a-z]+\.[a-z]+\d+@[a-z0-9.]+$/.test(e!))).toBe(true);
    expect(t.objects.deals!.every((d) => Number(d.properties.amount) > 0 && d.properties.pipeline === 'default' && d.properties.dealstage)).toBe(true);
    const ticketLinks = t.associations.filter((x) => x.fromType === 'tickets' && x.toType === 'contacts');
    expect(ticketLinks).toHaveLength(50);
    expect(ticketLinks.every((x) => x.typeId === 16)).toBe(true);
  });

  it('gives different data for a different seed', async () => {
    const c = await startFixture({}, 777001);
    try {
      await c.control.seed(c.portalId, { seed: 100, ...counts });
      const [ta, tc] = await Promise.all([a.control.groundTruth(a.portalId), c.control.groundTruth(c.portalId)]);
      expect(tc.objects.contacts!.map((r) => r.properties.email)).not.toEqual(ta.objects.contacts!.map((r) => r.properties.email));
    } finally {
      await c.close();
    }
  });
});
