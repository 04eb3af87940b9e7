-- Up Migration

-- HubSpot request budgets shared by every worker process (src/hubspot/rate-budget.ts).
-- One row per rolling window: `general:<portal>` (private apps), `general:<portal>:<app>` (OAuth),
-- `search:<portal>`. The row lock serialises permits for that budget across processes.
create table rate_windows (
  key text primary key,
  -- both set by the latest acquire (from the tier) unless HubSpot's headers said otherwise
  window_ms integer,
  max_permits integer,
  observed_max integer,
  observed_window_ms integer,
  -- epoch ms of the permits still inside the window, ascending (phantoms included: see observe)
  permits bigint[] not null default '{}',
  -- a 429 blocks every process until then (epoch ms)
  blocked_until bigint not null default 0,
  -- when a higher priority last asked: while recent, lower priorities leave it a share of the window
  realtime_seen_at bigint not null default 0,
  incremental_seen_at bigint not null default 0,
  rejections bigint not null default 0
);

-- The daily quota, per portal. The day is the UTC day: HubSpot resets at the portal's midnight,
-- and -Daily-Remaining from observe() corrects the count whenever HubSpot reports it.
create table rate_daily (
  portal_id bigint primary key,
  day date not null,
  used integer not null default 0,
  max_permits integer,
  observed_max integer,
  blocked_until bigint not null default 0,
  rejections bigint not null default 0
);

-- One permit attempt in one round trip: prune the window, apply the priority share, check a
-- 429 block, the window and the daily quota, and record the permit. Returns whether it was
-- granted, else how long to wait and which budget said no ('window' or 'daily').
create function take_rate_permit(
  p_key text,
  p_window_ms integer,
  p_max integer,
  p_margin double precision,
  p_priority text,
  p_portal_id bigint,
  p_daily_max integer, -- null: these calls do not count against the daily quota (OAuth)
  p_now bigint         -- null: the database clock, the one clock every worker shares
) returns table (granted boolean, wait_ms bigint, budget text)
language plpgsql as $$
declare
  now_ms bigint := coalesce(p_now, floor(extract(epoch from clock_timestamp()) * 1000)::bigint);
  today date := (to_timestamp(now_ms / 1000.0) at time zone 'UTC')::date;
  w rate_windows%rowtype;
  d rate_daily%rowtype;
  win integer;
  lim integer;
  cap integer;
  live bigint[];
  n integer;
  slice_ms integer;
  pace integer;
  recent integer;
begin
  granted := false;
  wait_ms := 0;
  budget := 'window';

  insert into rate_windows (key) values (p_key) on conflict do nothing;
  select * into w from rate_windows where key = p_key for update;
  win := coalesce(w.observed_window_ms, p_window_ms);
  lim := greatest(1, floor(coalesce(w.observed_max, p_max) * (1 - p_margin)));
  live := array(select t from unnest(w.permits) t where t > now_ms - win order by t);
  n := cardinality(live);

  if p_priority = 'realtime' then w.realtime_seen_at := now_ms;
  elsif p_priority = 'incremental' then w.incremental_seen_at := now_ms;
  end if;
  -- Reserved shares apply only while a higher priority has asked within the window, so a lone
  -- backfill still gets the whole budget.
  cap := case
    when p_priority = 'backfill' and greatest(w.realtime_seen_at, w.incremental_seen_at) > now_ms - win
      then greatest(1, floor(lim * 0.65))
    when p_priority = 'incremental' and w.realtime_seen_at > now_ms - win
      then greatest(1, floor(lim * 0.85))
    else lim
  end;

  -- Incremental and backfill are paced: at most a tenth of their share per tenth of the window.
  -- The window then drains evenly, so a realtime request that arrives while they saturate it
  -- finds a free permit within about a tenth of the window, not after a whole window's burst.
  slice_ms := win / 10;
  pace := ceil(cap / 10.0);
  recent := (select count(*) from unnest(live) t where t > now_ms - slice_ms);

  if w.blocked_until > now_ms then
    wait_ms := w.blocked_until - now_ms;
  elsif n >= cap then
    -- the window frees enough room when its (n - cap + 1)-th oldest permit leaves it
    wait_ms := live[n - cap + 1] + win - now_ms;
  elsif p_priority <> 'realtime' and recent >= pace then
    wait_ms := live[n - pace + 1] + slice_ms - now_ms;
  else
    granted := true;
  end if;

  if granted then
    insert into rate_daily (portal_id, day) values (p_portal_id, today) on conflict do nothing;
    select * into d from rate_daily where portal_id = p_portal_id for update;
    if d.day <> today then
      d.day := today;
      d.used := 0;
    end if;
    if d.blocked_until > now_ms then
      granted := false;
      budget := 'daily';
      wait_ms := d.blocked_until - now_ms;
    elsif p_daily_max is not null then
      if d.used >= floor(coalesce(d.observed_max, p_daily_max) * (1 - p_margin)) then
        granted := false;
        budget := 'daily';
        wait_ms := extract(epoch from (today + 1)::timestamp) * 1000 - now_ms;
      else
        d.used := d.used + 1;
      end if;
      update rate_daily set day = d.day, used = d.used, max_permits = p_daily_max where portal_id = p_portal_id;
    end if;
  end if;

  if granted then
    live := live || now_ms;
  end if;
  update rate_windows
     set permits = live, window_ms = p_window_ms, max_permits = p_max,
         realtime_seen_at = w.realtime_seen_at, incremental_seen_at = w.incremental_seen_at
   where key = p_key;
  return next;
end;
$$;

-- What HubSpot's rate-limit headers say, in one round trip. When HubSpot reports fewer requests
-- remaining than this window believes, the difference was spent by someone this table cannot
-- see (another integration on the same token, a clock offset): it is added as phantom permits
-- stamped now, which leave the window like real ones.
create function observe_rate_headers(
  p_key text,
  p_portal_id bigint,
  p_max integer,
  p_remaining integer,
  p_interval_ms integer,
  p_daily_max integer,
  p_daily_remaining integer,
  p_now bigint
) returns void
language plpgsql as $$
declare
  now_ms bigint := coalesce(p_now, floor(extract(epoch from clock_timestamp()) * 1000)::bigint);
  today date := (to_timestamp(now_ms / 1000.0) at time zone 'UTC')::date;
  w rate_windows%rowtype;
  win integer;
  live bigint[];
  phantoms integer;
begin
  if p_max is not null then
    insert into rate_windows (key) values (p_key) on conflict do nothing;
    select * into w from rate_windows where key = p_key for update;
    win := coalesce(p_interval_ms, w.observed_window_ms, w.window_ms, 10000);
    live := array(select t from unnest(w.permits) t where t > now_ms - win order by t);
    phantoms := least(p_max, greatest(0, p_max - cardinality(live) - coalesce(p_remaining, p_max)));
    live := live || array_fill(now_ms, array[phantoms]);
    update rate_windows
       set permits = live, observed_max = p_max, observed_window_ms = coalesce(p_interval_ms, observed_window_ms)
     where key = p_key;
  end if;
  if p_daily_max is not null and p_daily_remaining is not null then
    insert into rate_daily (portal_id, day) values (p_portal_id, today) on conflict do nothing;
    update rate_daily
       set observed_max = p_daily_max,
           used = case when day = today then greatest(used, p_daily_max - p_daily_remaining)
                       else p_daily_max - p_daily_remaining end,
           day = today
     where portal_id = p_portal_id;
  end if;
end;
$$;

-- Down Migration

drop function observe_rate_headers(text, bigint, integer, integer, integer, integer, integer, bigint);
drop function take_rate_permit(text, integer, integer, double precision, text, bigint, integer, bigint);
drop table rate_daily;
drop table rate_windows;
