//! The acting user: every read and write is made on someone's behalf.

use jiff::tz::TimeZone;
use sable_core::Lang;

/// Who is acting, with what rights, in which language and time zone.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: i64,
    pub user_name: String,
    pub is_admin: bool,
    pub lang: Lang,
    pub tz: TimeZone,
}

impl Actor {
    /// The system itself (migrations, jobs): sees and may change everything. The name is
    /// meant to stand out in review; request handlers must never use it.
    pub fn unrestricted_for_system_jobs() -> Actor {
        Actor {
            user_id: 0,
            user_name: "system".into(),
            is_admin: true,
            lang: Lang::En,
            tz: TimeZone::UTC,
        }
    }

    /// The actor's id for `created_user_id` / `modifiedby`, none for the system.
    pub fn user_ref(&self) -> Option<i64> {
        (self.user_id > 0).then_some(self.user_id)
    }
}

/// Parses an IANA zone name, falling back to UTC for an unknown one.
pub fn time_zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}
