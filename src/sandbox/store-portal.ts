// A portal's account settings, owners and pipelines: what exists before any record does.

import type { Tier } from './rate-limits.js';

export interface PortalSettings {
  portalId: number;
  tier: Tier;
  accountType: 'STANDARD' | 'DEVELOPER_TEST' | 'SANDBOX' | 'APP_DEVELOPER';
  timeZone: string;
  companyCurrency: string;
  additionalCurrencies: string[];
  uiDomain: string;
  dataHostingLocation: string;
}

export interface Owner {
  id: string;
  userId: number;
  email: string;
  firstName: string;
  lastName: string;
  archived: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface PipelineStage {
  id: string;
  label: string;
  displayOrder: number;
  metadata: Record<string, string>;
}

export interface Pipeline {
  id: string;
  label: string;
  displayOrder: number;
  stages: PipelineStage[];
  createdAt: number;
  updatedAt: number;
  archived: boolean;
}

const OWNER_NAMES: [string, string][] = [
  ['Avery', 'Stone'],
  ['Jordan', 'Reyes'],
  ['Priya', 'Natarajan'],
  ['Lukas', 'Becker'],
  ['Mei', 'Tanaka'],
];

/** Owner ids derive from the portal id so two portals never share one. */
export function defaultOwners(portalId: number, now: number): Owner[] {
  return OWNER_NAMES.map(([firstName, lastName], i) => ({
    id: String(portalId * 100 + i + 1),
    userId: portalId * 1000 + i + 1,
    email: `${firstName.toLowerCase()}.${lastName.toLowerCase()}@example-sales.test`,
    firstName,
    lastName,
    archived: false,
    createdAt: now,
    updatedAt: now,
  }));
}

function stages(list: [string, string, Record<string, string>][]): PipelineStage[] {
  return list.map(([id, label, metadata], displayOrder) => ({ id, label, displayOrder, metadata }));
}

/** HubSpot's out-of-the-box deal and ticket pipelines, keyed by object type id. */
export function defaultPipelines(now: number): Map<string, Pipeline[]> {
  const base = { displayOrder: 0, createdAt: now, updatedAt: now, archived: false };
  return new Map([
    [
      '0-3',
      [
        {
          ...base,
          id: 'default',
          label: 'Sales Pipeline',
          stages: stages([
            ['appointmentscheduled', 'Appointment Scheduled', { isClosed: 'false', probability: '0.2' }],
            ['qualifiedtobuy', 'Qualified To Buy', { isClosed: 'false', probability: '0.4' }],
            ['presentationscheduled', 'Presentation Scheduled', { isClosed: 'false', probability: '0.6' }],
            ['decisionmakerboughtin', 'Decision Maker Bought-In', { isClosed: 'false', probability: '0.8' }],
            ['contractsent', 'Contract Sent', { isClosed: 'false', probability: '0.9' }],
            ['closedwon', 'Closed Won', { isClosed: 'true', probability: '1.0' }],
            ['closedlost', 'Closed Lost', { isClosed: 'true', probability: '0.0' }],
          ]),
        },
      ],
    ],
    [
      '0-5',
      [
        {
          ...base,
          id: '0',
          label: 'Support Pipeline',
          stages: stages([
            ['1', 'New', { ticketState: 'OPEN' }],
            ['2', 'Waiting on contact', { ticketState: 'OPEN' }],
            ['3', 'Waiting on us', { ticketState: 'OPEN' }],
            ['4', 'Closed', { ticketState: 'CLOSED' }],
          ]),
        },
      ],
    ],
  ]);
}
