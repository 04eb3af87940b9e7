-- Up Migration

-- The portal's time zone, as HubSpot's account details report it (mirrored with owners and
-- pipelines): HubSpot's daily limit resets at midnight there, so a connection paused by a daily
-- 429 resumes then. Null until first read: the reset is then taken as UTC midnight.
alter table connections add column time_zone text;

-- Down Migration

alter table connections drop column time_zone;
