-- Up Migration

-- A higher priority held the lower ones back for a fifth of the window after any request of its
-- own, and a backfill refused meanwhile slept until the window fell below its reduced share:
-- one incremental page cost a saturating backfill about 3 s of a 10 s budget while using one
-- permit of it (bench/RESULTS.md, "Full backfill"). Now the hold lasts while the higher priority
-- actually waits: from a refusal for a full window until it is served (its mark is cleared), or,
-- should it give up, a fifth of the window. A lower priority refused only because of the hold
-- looks again after a hundredth of the window, so the permit the waiter leaves is used at once.
-- realtime_seen_at and incremental_seen_at now hold when that priority was last refused for a
-- full window, 0 once it has been served.
create or replace function take_rate_permit(
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
  held_since bigint;
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

  -- While a higher priority waits, backfill may fill at most 65 % of the window and incremental
  -- 85 % (of a full window: in effect they stop until the waiter is served).
  held_since := case p_priority
    when 'backfill' then greatest(w.realtime_seen_at, w.incremental_seen_at)
    when 'incremental' then w.realtime_seen_at
    else 0
  end;
  cap := case
    when held_since <= now_ms - win / 5 then lim
    when p_priority = 'backfill' then greatest(1, floor(lim * 0.65))
    else greatest(1, floor(lim * 0.85))
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
    if n >= lim then
      -- the window is full: look again when its oldest permit leaves it
      wait_ms := live[n - lim + 1] + win - now_ms;
    else
      -- room held for a waiting higher priority, which may be served at any moment
      wait_ms := least(held_since + win / 5 - now_ms, greatest(1, win / 100));
    end if;
    -- a higher priority refused for a full window is waiting: the lower ones hold back
    if p_priority = 'realtime' then w.realtime_seen_at := now_ms;
    elsif p_priority = 'incremental' then w.incremental_seen_at := now_ms;
    end if;
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
    -- served: it no longer holds the lower priorities back
    if p_priority = 'realtime' then w.realtime_seen_at := 0;
    elsif p_priority = 'incremental' then w.incremental_seen_at := 0;
    end if;
  end if;
  update rate_windows
     set permits = live, window_ms = p_window_ms, max_permits = p_max,
         realtime_seen_at = w.realtime_seen_at, incremental_seen_at = w.incremental_seen_at
   where key = p_key;
  return next;
end;
$$;

-- Down Migration

-- Nothing to undo: the function keeps its signature, and the one it replaced is in
-- 20261214130000_rate_permit_recent_priority.sql should it ever be wanted back.
