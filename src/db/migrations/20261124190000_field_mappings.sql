-- Up Migration

-- The local names are fixed: they are the columns of contacts_view and companies_view below, and
-- a view's columns cannot vary per connection. So the defaults are one row per local name, and a
-- connection may only change which HubSpot property feeds a local name, and in which direction.
create table field_mapping_defaults (
  object_type text not null check (object_type in ('contacts', 'companies')),
  local_name text not null,
  hubspot_property text not null,
  direction text not null check (direction in ('inbound', 'outbound', 'both')),
  primary key (object_type, local_name)
);

insert into field_mapping_defaults (object_type, local_name, hubspot_property, direction) values
  ('contacts', 'email', 'email', 'both'),
  ('contacts', 'first_name', 'firstname', 'both'),
  ('contacts', 'last_name', 'lastname', 'both'),
  ('contacts', 'company', 'company', 'both'),
  ('contacts', 'phone', 'phone', 'both'),
  ('contacts', 'job_title', 'jobtitle', 'both'),
  ('contacts', 'city', 'city', 'both'),
  ('contacts', 'state', 'state', 'both'),
  ('contacts', 'country', 'country', 'both'),
  ('companies', 'name', 'name', 'both'),
  ('companies', 'domain', 'domain', 'both'),
  ('companies', 'industry', 'industry', 'both'),
  ('companies', 'number_of_employees', 'numberofemployees', 'both'),
  ('companies', 'annual_revenue', 'annualrevenue', 'both');

-- A connection's own mapping, as last replaced by PUT /connections/:id/field-mapping. A local name
-- without a row here keeps its default: a connection without rows uses the defaults throughout.
create table field_mappings (
  connection_id uuid not null references connections (id) on delete cascade,
  object_type text not null,
  local_name text not null,
  hubspot_property text not null,
  direction text not null check (direction in ('inbound', 'outbound', 'both')),
  updated_at timestamptz not null default now(),
  primary key (connection_id, object_type, local_name),
  foreign key (object_type, local_name) references field_mapping_defaults (object_type, local_name)
);

-- Every connection's mapping in force: its own row for a local name, else the default.
create view effective_field_mappings as
select c.id as connection_id, d.object_type, d.local_name,
       coalesce(m.hubspot_property, d.hubspot_property) as hubspot_property,
       coalesce(m.direction, d.direction) as direction,
       m.connection_id is not null as customized
  from connections c
  cross join field_mapping_defaults d
  left join field_mappings m on m.connection_id = c.id and m.object_type = d.object_type and m.local_name = d.local_name;

-- The typed local views. Each connection's inbound mapping is folded into one jsonb object
-- (local name → HubSpot property), and each column reads the property its local name points to
-- for that row's connection; an outbound-only local name points nowhere, so its column is null.
-- Values stay text, as HubSpot sends them: a remap may point a column at any property, and a cast
-- would make one odd value fail every query. Records merged into another are left out: they are
-- tombstones pointing to the survivor, which the view shows.
create view contacts_view as
select o.connection_id, o.object_id,
       o.properties ->> (m.sources ->> 'email') as email,
       o.properties ->> (m.sources ->> 'first_name') as first_name,
       o.properties ->> (m.sources ->> 'last_name') as last_name,
       o.properties ->> (m.sources ->> 'company') as company,
       o.properties ->> (m.sources ->> 'phone') as phone,
       o.properties ->> (m.sources ->> 'job_title') as job_title,
       o.properties ->> (m.sources ->> 'city') as city,
       o.properties ->> (m.sources ->> 'state') as state,
       o.properties ->> (m.sources ->> 'country') as country,
       o.updated_at, o.archived
  from crm_objects o
  join (select connection_id, jsonb_object_agg(local_name, hubspot_property) filter (where direction <> 'outbound') as sources
          from effective_field_mappings where object_type = 'contacts' group by connection_id) m using (connection_id)
 where o.object_type = 'contacts' and o.merged_into is null;

create view companies_view as
select o.connection_id, o.object_id,
       o.properties ->> (m.sources ->> 'name') as name,
       o.properties ->> (m.sources ->> 'domain') as domain,
       o.properties ->> (m.sources ->> 'industry') as industry,
       o.properties ->> (m.sources ->> 'number_of_employees') as number_of_employees,
       o.properties ->> (m.sources ->> 'annual_revenue') as annual_revenue,
       o.updated_at, o.archived
  from crm_objects o
  join (select connection_id, jsonb_object_agg(local_name, hubspot_property) filter (where direction <> 'outbound') as sources
          from effective_field_mappings where object_type = 'companies' group by connection_id) m using (connection_id)
 where o.object_type = 'companies' and o.merged_into is null;

-- Down Migration

drop view companies_view;
drop view contacts_view;
drop view effective_field_mappings;
drop table field_mappings;
drop table field_mapping_defaults;
