import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Search attributes an operator filters connections by in the Web UI. Safe to import from
 * workflow code (no Node built-ins).
 */
export const portalIdKey = defineSearchAttributeKey('HubSpotPortalId', SearchAttributeType.KEYWORD);
export const connectionStatusKey = defineSearchAttributeKey('ConnectionStatus', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTE_NAMES = [portalIdKey.name, connectionStatusKey.name];
