-- Up Migration

-- A connection may name the properties it mirrors per object type ({ "contacts": ["email", ...] });
-- null, or a type left out, mirrors every property the Properties API lists.
alter table connections add column properties jsonb;

-- Down Migration

alter table connections drop column properties;
