-- Up Migration

-- The engagement push records the values it is about to write under each contact's HubSpot id
-- before it writes them (HubSpot's webhook echo may arrive before the page commits), so it looks
-- contacts it has not pushed before up in the mirror by email.
create index crm_objects_contact_email_idx on crm_objects (connection_id, lower(properties ->> 'email'))
  where object_type = 'contacts';

comment on table connection_push_settings is
  'Per-connection engagement push settings (PUT /connections/:id/engagements/settings); a missing row means the defaults in src/db/push-settings.ts.';

-- Down Migration

comment on table connection_push_settings is null;
drop index crm_objects_contact_email_idx;
