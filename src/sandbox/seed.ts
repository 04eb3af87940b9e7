// Deterministic demo data: the same seed and counts give the same records, ids, timestamps
// and associations. Seeding is silent (no CrmChange events): the data "already existed".
import type { ObjectTable, Portal, Store, WriteContext } from './store.js';

export interface SeedOptions {
  seed?: number;
  contacts?: number;
  companies?: number;
  deals?: number;
  tickets?: number;
  /** Creation times are spread over the year after this instant (ms); default 2024-01-01. */
  startTime?: number;
}

export interface SeedResult {
  contacts: number;
  companies: number;
  deals: number;
  tickets: number;
  associations: number;
}

/** mulberry32: tiny, fast, and good enough for fake data. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = ['Olivia', 'Liam', 'Emma', 'Noah', 'Ava', 'Elijah', 'Sophia', 'James', 'Isabella', 'Lucas', 'Mia', 'Mateo', 'Amelia', 'Benjamin', 'Harper', 'Leo', 'Evelyn', 'Henry', 'Aisha', 'Kenji', 'Fatima', 'Diego', 'Ingrid', 'Tomasz', 'Chloe', 'Ravi', 'Zoe', 'Omar', 'Hana', 'Marco'];
const LAST = ['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Hernandez', 'Lopez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin', 'Lee', 'Nguyen', 'Kowalski', 'Okafor', 'Schmidt', 'Rossi', 'Sato', 'Khan', 'Silva', 'Dubois', 'Larsen'];
const CO_A = ['Blue', 'Northern', 'Bright', 'Silver', 'Green', 'Quantum', 'Summit', 'Harbor', 'Crimson', 'Atlas', 'Pioneer', 'Lunar', 'Granite', 'Velvet', 'Cedar'];
const CO_B = ['River', 'Peak', 'Forge', 'Signal', 'Works', 'Logic', 'Field', 'Bridge', 'Cloud', 'Anchor', 'Spark', 'Stone', 'Wave', 'Grove', 'Labs'];
const CO_C = ['Inc', 'LLC', 'Group', 'Partners', 'Systems', 'Co', 'Technologies', 'Holdings'];
const TLD = ['com', 'io', 'co', 'net', 'dev'];
const FREE_MAIL = ['gmail.com', 'outlook.com', 'yahoo.com', 'proton.me'];
const TITLES = ['CEO', 'CTO', 'Marketing Manager', 'Sales Director', 'Engineer', 'Product Manager', 'Designer', 'Account Executive', 'Analyst', 'Operations Lead'];
const CITIES = ['Boston', 'Berlin', 'Dublin', 'Austin', 'Toronto', 'Singapore', 'Sydney', 'Paris', 'Tokyo', 'Lagos'];
const INDUSTRIES = ['COMPUTER_SOFTWARE', 'FINANCIAL_SERVICES', 'RETAIL', 'MARKETING_AND_ADVERTISING', 'HOSPITAL_HEALTH_CARE', 'EDUCATION_MANAGEMENT'];
const STAGES = ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer'];
const PRODUCTS = ['Annual plan', 'Onboarding', 'Enterprise upgrade', 'Renewal', 'Add-on seats', 'Pilot'];
const TICKET_SUBJECTS = ['Cannot log in', 'Invoice question', 'Export fails', 'Feature request: dark mode', 'Sync is slow', 'Password reset', 'API returns 500', 'Billing address change'];
const PRIORITIES = ['LOW', 'MEDIUM', 'HIGH'];
const CATEGORIES = ['PRODUCT_ISSUE', 'BILLING_ISSUE', 'FEATURE_REQUEST', 'GENERAL_INQUIRY'];

const DAY = 86_400_000;
const SEED_CTX: WriteContext = { source: 'IMPORT' };

export function seedPortal(store: Store, portal: Portal, opts: SeedOptions = {}): SeedResult {
  const rnd = mulberry32(opts.seed ?? 1);
  const pick = <T>(arr: readonly T[]): T => arr[Math.floor(rnd() * arr.length)]!;
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const start = opts.startTime ?? Date.UTC(2024, 0, 1);
  const owners = portal.owners.map((o) => o.id);
  const tables = (name: string) => store.table(portal, name);
  let associations = 0;

  /** Creation spread over a year in index order; each record modified up to 60 days later. */
  const times = (i: number, n: number) => {
    const createdAt = start + Math.floor((i * 365 * DAY) / Math.max(n, 1)) + int(0, 3_600_000);
    return { createdAt, timestamp: createdAt + (rnd() < 0.5 ? 0 : int(0, 60 * DAY)), silent: true };
  };
  const link = (from: ObjectTable, fromId: number, to: ObjectTable, toId: number, typeId: number) => {
    store.associate(portal, from, fromId, to, toId, [typeId], SEED_CTX, true);
    associations++;
  };

  const companies = tables('companies');
  // Offsets keep emails and domains unique when a portal is seeded more than once.
  const [companyBase, contactBase] = [companies.records.size, tables('contacts').records.size];
  const companyIds: number[] = [];
  const companyInfo: { name: string; domain: string }[] = [];
  for (let i = 0; i < (opts.companies ?? 0); i++) {
    const [a, b, c] = [pick(CO_A), pick(CO_B), pick(CO_C)];
    const name = `${a} ${b} ${c}`;
    const domain = `${a}${b}${companyBase + i}.${pick(TLD)}`.toLowerCase();
    const rec = store.create(
      portal,
      companies,
      { name, domain, website: `https://www.${domain}`, industry: pick(INDUSTRIES), city: pick(CITIES), numberofemployees: String(int(2, 5000)), annualrevenue: String(int(1, 500) * 10_000), hubspot_owner_id: pick(owners) },
      SEED_CTX,
      times(i, opts.companies ?? 0),
    );
    companyIds.push(rec.id);
    companyInfo.push({ name, domain });
  }

  const contacts = tables('contacts');
  const contactIds: number[] = [];
  const contactCompany: number[] = [];
  for (let i = 0; i < (opts.contacts ?? 0); i++) {
    const first = pick(FIRST);
    const last = pick(LAST);
    const c = companyIds.length > 0 && rnd() < 0.8 ? int(0, companyIds.length - 1) : -1;
    const domain = c >= 0 ? companyInfo[c]!.domain : pick(FREE_MAIL);
    const rec = store.create(
      portal,
      contacts,
      {
        email: `${first}.${last}${contactBase + i}@${domain}`.toLowerCase(),
        firstname: first,
        lastname: last,
        phone: `+1-555-${String(int(0, 9999)).padStart(4, '0')}`,
        jobtitle: pick(TITLES),
        lifecyclestage: pick(STAGES),
        hubspot_owner_id: pick(owners),
        ...(c >= 0 ? { company: companyInfo[c]!.name } : {}),
      },
      SEED_CTX,
      times(i, opts.contacts ?? 0),
    );
    contactIds.push(rec.id);
    contactCompany.push(c);
    if (c >= 0) link(contacts, rec.id, companies, companyIds[c]!, 1);
  }

  const deals = tables('deals');
  const dealStages = portal.pipelines.get('0-3')![0]!.stages.map((s) => s.id);
  for (let i = 0; i < (opts.deals ?? 0); i++) {
    const c = companyIds.length > 0 ? int(0, companyIds.length - 1) : -1;
    const t = times(i, opts.deals ?? 0);
    const rec = store.create(
      portal,
      deals,
      {
        dealname: `${c >= 0 ? companyInfo[c]!.name : 'Direct'} - ${pick(PRODUCTS)}`,
        amount: String(int(5, 500) * 100),
        pipeline: 'default',
        dealstage: pick(dealStages),
        closedate: new Date(t.createdAt + int(7, 120) * DAY).toISOString(),
        hubspot_owner_id: pick(owners),
      },
      SEED_CTX,
      t,
    );
    if (c >= 0) link(deals, rec.id, companies, companyIds[c]!, 5);
    if (contactIds.length > 0) link(deals, rec.id, contacts, contactIds[int(0, contactIds.length - 1)]!, 3);
  }

  const tickets = tables('tickets');
  for (let i = 0; i < (opts.tickets ?? 0); i++) {
    const subject = pick(TICKET_SUBJECTS);
    const rec = store.create(
      portal,
      tickets,
      { subject, content: `Customer reports: ${subject.toLowerCase()}.`, hs_pipeline: '0', hs_pipeline_stage: String(int(1, 4)), hs_ticket_priority: pick(PRIORITIES), hs_ticket_category: pick(CATEGORIES), hubspot_owner_id: pick(owners) },
      SEED_CTX,
      times(i, opts.tickets ?? 0),
    );
    if (contactIds.length > 0) {
      const k = int(0, contactIds.length - 1);
      link(tickets, rec.id, contacts, contactIds[k]!, 16);
      const c = contactCompany[k]!;
      if (c >= 0) link(tickets, rec.id, companies, companyIds[c]!, 26);
    }
  }

  return { contacts: contactIds.length, companies: companyIds.length, deals: opts.deals ?? 0, tickets: opts.tickets ?? 0, associations };
}
