-- Up Migration

-- Property names per object type, re-discovered on a slow timer so new custom properties appear
-- without a restart.
create table object_properties (
  connection_id uuid not null references connections (id) on delete cascade,
  object_type text not null,
  names text[] not null,
  discovered_at timestamptz not null default now(),
  primary key (connection_id, object_type)
);

create table crm_owners (
  connection_id uuid not null references connections (id) on delete cascade,
  owner_id text not null,
  data jsonb not null,
  updated_at timestamptz,
  archived boolean not null default false,
  synced_at timestamptz not null default now(),
  primary key (connection_id, owner_id)
);

create table crm_pipelines (
  connection_id uuid not null references connections (id) on delete cascade,
  object_type text not null,
  pipeline_id text not null,
  -- the pipeline with its stages, as HubSpot returns it
  data jsonb not null,
  synced_at timestamptz not null default now(),
  primary key (connection_id, object_type, pipeline_id)
);

-- Down Migration

drop table crm_pipelines;
drop table crm_owners;
drop table object_properties;
