//! The acting user: every read and write is made on someone's behalf.

use jiff::tz::TimeZone;
use sable_core::Lang;

/// Who is acting, with what rights, in which language and time zone.
///
/// Only the store makes one (from a user who logged in, or the system's own), and no one
/// can change one: code outside the store cannot promote itself to an administrator.
#[derive(Clone, Debug)]
pub struct Actor {
    pub(crate) user_id: i64,
    pub(crate) user_name: String,
    pub(crate) is_admin: bool,
    pub(crate) lang: Lang,
    pub(crate) tz: TimeZone,
    /// What made this write, when not a person: `{"workflow": id, "depth": n}` for a
    /// workflow's own writes. Written into outbox events so the engine can stop loops.
    pub(crate) origin: Option<std::sync::Arc<serde_json::Value>>,
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
            origin: None,
        }
    }

    /// The same actor, marking its writes with an origin (see [`Actor::origin`]).
    pub fn with_origin(mut self, origin: serde_json::Value) -> Actor {
        self.origin = Some(std::sync::Arc::new(origin));
        self
    }

    /// The origin written into this actor's outbox events, if any.
    pub fn origin(&self) -> Option<&serde_json::Value> {
        self.origin.as_deref()
    }

    /// The user's id (0 for the system).
    pub fn user_id(&self) -> i64 {
        self.user_id
    }

    /// The user's login name.
    pub fn user_name(&self) -> &str {
        &self.user_name
    }

    /// Whether the actor sees and may change everything.
    pub fn is_admin(&self) -> bool {
        self.is_admin
    }

    /// The actor's language.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The actor's time zone, for relative dates and date-times shown.
    pub fn tz(&self) -> &TimeZone {
        &self.tz
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
