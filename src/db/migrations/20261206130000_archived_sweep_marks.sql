-- Up Migration

-- Which archived sweep last saw the record still archived (its workflow id), or 'gone' once
-- HubSpot no longer has it at all. A record the mirror holds as archived that the latest sweep
-- did not list was restored (or purged): the sweep re-reads those at its end, because a restore
-- need not move the modification time that incremental sync follows.
alter table crm_objects add column archive_checked_by text;

-- Down Migration

alter table crm_objects drop column archive_checked_by;
