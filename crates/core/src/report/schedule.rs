//! A saved report's e-mail delivery schedule: daily, weekly or monthly at a local time in
//! the owner's zone, to a list of addresses. Checked here; when it is next due is computed
//! here; the sending is the workflow engine's.

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use crate::i18n::Refusal;
use crate::parse::is_email;

/// Most addresses one delivery goes to.
pub const MAX_RECIPIENTS: usize = 20;

/// How often a report is delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    Daily,
    Weekly,
    Monthly,
}

/// The attachment format of a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryFormat {
    #[default]
    Csv,
    Xlsx,
}

/// When and to whom a saved report is e-mailed.
///
/// `{"frequency":"weekly","time":"08:30","weekday":1,"recipients":["boss@example.com"],"format":"xlsx"}`;
/// `weekday` 1 (Monday) to 7 for weekly, `day` 1 to 31 for monthly (the month's last day
/// when it is shorter).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    pub frequency: Frequency,
    /// Local time `HH:MM` in the owner's zone.
    pub time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekday: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<u8>,
    pub recipients: Vec<String>,
    #[serde(default)]
    pub format: DeliveryFormat,
}

fn refuse(en: impl Into<String>) -> Refusal {
    let en = en.into();
    Refusal::new("rep_refused_schedule", en.clone()).arg("message", en)
}

impl Schedule {
    /// Checks the schedule; the refusal says which part is wrong.
    pub fn check(&self) -> Result<(), Refusal> {
        self.local_time()?;
        match (self.frequency, self.weekday, self.day) {
            (Frequency::Daily, None, None) => {}
            (Frequency::Weekly, Some(1..=7), None) => {}
            (Frequency::Monthly, None, Some(1..=31)) => {}
            (Frequency::Weekly, _, _) => {
                return Err(refuse("a weekly delivery needs `weekday` 1 (Monday) to 7 and no `day`"));
            }
            (Frequency::Monthly, _, _) => {
                return Err(refuse("a monthly delivery needs `day` 1 to 31 and no `weekday`"));
            }
            (Frequency::Daily, _, _) => return Err(refuse("a daily delivery takes no `weekday` or `day`")),
        }
        if self.recipients.is_empty() || self.recipients.len() > MAX_RECIPIENTS {
            return Err(refuse(format!("name 1 to {MAX_RECIPIENTS} recipients")));
        }
        if let Some(bad) = self.recipients.iter().find(|r| !is_email(r.trim())) {
            let shown: String = bad.chars().take(80).collect();
            return Err(refuse(format!("`{shown}` is not an e-mail address")));
        }
        Ok(())
    }

    fn local_time(&self) -> Result<Time, Refusal> {
        let bad = || refuse("`time` must be HH:MM, 00:00 to 23:59");
        let (h, m) = self.time.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: i8 = h.parse().map_err(|_| bad())?;
        let m: i8 = m.parse().map_err(|_| bad())?;
        Time::new(h, m, 0, 0).map_err(|_| bad())
    }

    /// Whether `day` is a delivery day.
    fn is_delivery_day(&self, day: Date) -> bool {
        match self.frequency {
            Frequency::Daily => true,
            Frequency::Weekly => self
                .weekday
                .is_some_and(|w| i16::from(w) == i16::from(day.weekday().to_monday_one_offset())),
            Frequency::Monthly => self
                .day
                .is_some_and(|d| day.day() == (d as i8).min(day.last_of_month().day())),
        }
    }

    /// The first delivery instant strictly after `after`, in zone `tz`; `None` for an
    /// invalid schedule.
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let time = self.local_time().ok()?;
        let mut day = tz.to_datetime(after).date();
        // A monthly schedule is due within 31 days, a weekly one within 7.
        for _ in 0..=32 {
            if self.is_delivery_day(day) {
                let at = tz.to_ambiguous_timestamp(day.to_datetime(time)).compatible().ok()?;
                if at > after {
                    return Some(at);
                }
            }
            day = day.checked_add(1.day()).ok()?;
        }
        None
    }

    /// Weekday as jiff's, for display.
    pub fn weekday(&self) -> Option<Weekday> {
        self.weekday.and_then(|w| Weekday::from_monday_one_offset(w as i8).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schedule(v: serde_json::Value) -> Schedule {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn checks_each_part() {
        let ok =
            schedule(json!({"frequency": "weekly", "time": "08:30", "weekday": 1, "recipients": ["a@example.com"]}));
        assert!(ok.check().is_ok());
        for bad in [
            json!({"frequency": "weekly", "time": "08:30", "recipients": ["a@example.com"]}),
            json!({"frequency": "daily", "time": "24:00", "recipients": ["a@example.com"]}),
            json!({"frequency": "daily", "time": "8:30", "recipients": ["a@example.com"]}),
            json!({"frequency": "monthly", "time": "08:30", "day": 32, "recipients": ["a@example.com"]}),
            json!({"frequency": "daily", "time": "08:30", "recipients": []}),
            json!({"frequency": "daily", "time": "08:30", "recipients": ["not an address"]}),
        ] {
            assert!(schedule(bad.clone()).check().is_err(), "{bad}");
        }
        assert!(
            serde_json::from_value::<Schedule>(json!({"frequency": "hourly", "time": "08:30", "recipients": []}))
                .is_err()
        );
    }

    #[test]
    fn next_delivery_in_the_owners_zone() {
        let tz = TimeZone::get("Asia/Shanghai").unwrap();
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let daily = schedule(json!({"frequency": "daily", "time": "08:00", "recipients": ["a@example.com"]}));
        // 2024-05-15 08:00 in Shanghai is 00:00Z.
        assert_eq!(
            daily.next_after(at("2024-05-14T23:59:00Z"), &tz),
            Some(at("2024-05-15T00:00:00Z"))
        );
        assert_eq!(
            daily.next_after(at("2024-05-15T00:00:00Z"), &tz),
            Some(at("2024-05-16T00:00:00Z"))
        );
        // 2024-05-15 is a Wednesday; Monday next is the 20th.
        let weekly =
            schedule(json!({"frequency": "weekly", "time": "09:30", "weekday": 1, "recipients": ["a@example.com"]}));
        assert_eq!(
            weekly.next_after(at("2024-05-15T00:00:00Z"), &tz),
            Some(at("2024-05-20T01:30:00Z"))
        );
        // Day 31 in a 30-day month is its last day.
        let monthly =
            schedule(json!({"frequency": "monthly", "time": "00:00", "day": 31, "recipients": ["a@example.com"]}));
        assert_eq!(
            monthly.next_after(at("2024-06-01T00:00:00Z"), &tz),
            Some(at("2024-06-29T16:00:00Z"))
        );
    }
}
