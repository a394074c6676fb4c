//! When scheduled workflows are due: a schedule becomes a cron pattern (croner), read in
//! the engine's time zone, and the latest slot at or before "now" is the one to run. The
//! job's idempotency key names the slot, so every node may compute it and only one run
//! starts.

use std::str::FromStr;

use croner::Cron;
use jiff::tz::TimeZone;
use sable_core::workflow::{Every, Trigger, parse_hh_mm};

/// The cron pattern of a schedule trigger (minute hour day-of-month month day-of-week).
/// Day 31 of a monthly schedule means the last day of each month.
pub fn cron_pattern(trigger: &Trigger) -> Option<String> {
    let Trigger::Schedule {
        every,
        at,
        weekday,
        day,
    } = trigger
    else {
        return None;
    };
    let (h, m) = parse_hh_mm(at)?;
    Some(match every {
        Every::Daily => format!("{m} {h} * * *"),
        // croner's POSIX weekdays: 0 or 7 = Sunday, 1 = Monday.
        Every::Weekly => format!("{m} {h} * * {}", weekday.filter(|d| (1..=7).contains(d))? % 7),
        Every::Monthly => match day.filter(|d| (1..=31).contains(d))? {
            31 => format!("{m} {h} L * *"),
            d => format!("{m} {h} {d} * *"),
        },
    })
}

/// The latest slot of the schedule at or before `now_ms` (epoch ms), in zone `tz`.
pub fn last_slot(trigger: &Trigger, tz: &TimeZone, now_ms: i64) -> Option<i64> {
    let cron = Cron::from_str(&cron_pattern(trigger)?).ok()?;
    let now = jiff::Timestamp::from_millisecond(now_ms)
        .ok()?
        .to_zoned_datetime(tz.clone());
    let naive = to_naive(now.datetime())?;
    let prev = cron.find_previous_occurrence(&naive, true).ok()?;
    let civil = from_naive(prev)?;
    Some(civil.to_zoned_datetime(tz.clone()).ok()?.timestamp().as_millisecond())
}

fn to_naive(dt: jiff::civil::DateTime) -> Option<chrono::NaiveDateTime> {
    let date = chrono::NaiveDate::from_ymd_opt(
        i32::from(dt.year()),
        u32::try_from(dt.month()).ok()?,
        u32::try_from(dt.day()).ok()?,
    )?;
    let time = chrono::NaiveTime::from_hms_opt(
        u32::try_from(dt.hour()).ok()?,
        u32::try_from(dt.minute()).ok()?,
        u32::try_from(dt.second()).ok()?,
    )?;
    Some(chrono::NaiveDateTime::new(date, time))
}

fn from_naive(n: chrono::NaiveDateTime) -> Option<jiff::civil::DateTime> {
    use chrono::{Datelike, Timelike};
    jiff::civil::DateTime::new(
        i16::try_from(n.year()).ok()?,
        i8::try_from(n.month()).ok()?,
        i8::try_from(n.day()).ok()?,
        i8::try_from(n.hour()).ok()?,
        i8::try_from(n.minute()).ok()?,
        0,
        0,
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        s.parse::<jiff::Timestamp>().expect("instant").as_millisecond()
    }

    #[test]
    fn slots_in_the_zone() {
        let tz = TimeZone::get("Asia/Shanghai").expect("tz");
        let daily = Trigger::Schedule {
            every: Every::Daily,
            at: "08:00".into(),
            weekday: None,
            day: None,
        };
        assert_eq!(
            last_slot(&daily, &tz, ms("2026-12-07T01:00:00Z")),
            Some(ms("2026-12-07T00:00:00Z"))
        );
        assert_eq!(
            last_slot(&daily, &tz, ms("2026-12-06T23:59:00Z")),
            Some(ms("2026-12-06T00:00:00Z"))
        );
        let weekly = Trigger::Schedule {
            every: Every::Weekly,
            at: "09:30".into(),
            weekday: Some(7),
            day: None,
        };
        // 2026-12-06 is a Sunday.
        assert_eq!(
            last_slot(&weekly, &tz, ms("2026-12-09T00:00:00Z")),
            Some(ms("2026-12-06T01:30:00Z"))
        );
        let monthly = Trigger::Schedule {
            every: Every::Monthly,
            at: "00:00".into(),
            weekday: None,
            day: Some(31),
        };
        assert_eq!(
            last_slot(&monthly, &TimeZone::UTC, ms("2027-03-01T00:00:00Z")),
            Some(ms("2027-02-28T00:00:00Z"))
        );
        assert_eq!(last_slot(&Trigger::OnCreate, &tz, 0), None);
    }
}
