//! Assignment rules: who gets a new record. Pure logic only — which branch of a rule
//! matches a record, and which member of a round-robin group is next. The rotation
//! pointer itself lives in the database (the store advances it inside its write
//! transaction); nothing here does I/O.

use serde::{Deserialize, Serialize};

use crate::i18n::Refusal;

/// Most branches a rule may have.
pub const MAX_BRANCHES: usize = 50;
/// Most users in one round-robin group.
pub const MAX_GROUP: usize = 200;
/// Most values one condition may list.
pub const MAX_VALUES: usize = 200;
/// Longest follow-up delay: one year, in hours.
pub const MAX_FOLLOWUP_HOURS: i64 = 24 * 366;

/// Whom a branch hands the record to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// Always this user.
    User { user_id: i64 },
    /// The next active user of the group, in turn.
    RoundRobin { user_ids: Vec<i64> },
}

impl Target {
    /// Every user the target names.
    pub fn users(&self) -> Vec<i64> {
        match self {
            Target::User { user_id } => vec![*user_id],
            Target::RoundRobin { user_ids } => user_ids.clone(),
        }
    }
}

/// How a condition compares the record's field with its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MatchOp {
    /// The field equals one of the values (trimmed, case-insensitive).
    #[default]
    In,
    /// The field contains one of the values (case-insensitive).
    Contains,
}

/// One test on a field of the record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    pub field: String,
    #[serde(default)]
    pub op: MatchOp,
    pub values: Vec<String>,
}

/// Conditions that must all hold, and whom the record then goes to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branch {
    pub when: Vec<Condition>,
    pub target: Target,
}

/// A rule: ordered branches (the first that matches wins), then a fallback.
///
/// A plain round robin is a rule with no branches and a round-robin fallback; a fixed
/// user is a rule with a `User` fallback.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSpec {
    #[serde(default)]
    pub branches: Vec<Branch>,
    #[serde(default)]
    pub fallback: Option<Target>,
    /// Hours after assignment the follow-up task is due; `None`: no task.
    #[serde(default)]
    pub followup_hours: Option<i64>,
}

/// Which part of a rule decided: a branch (by position) or the fallback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Branch(usize),
    Fallback,
}

impl Slot {
    /// The key the rotation pointer of this slot is stored under.
    pub fn key(self) -> String {
        match self {
            Slot::Branch(i) => format!("branch{i}"),
            Slot::Fallback => "fallback".into(),
        }
    }
}

/// The branch that matched and why, in words for the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matched<'a> {
    pub slot: Slot,
    pub target: &'a Target,
    pub why: String,
}

fn norm(s: &str) -> String {
    s.trim().to_lowercase()
}

impl Condition {
    /// Whether the record's field text satisfies the condition.
    pub fn holds(&self, field_text: &str) -> bool {
        let have = norm(field_text);
        match self.op {
            MatchOp::In => self.values.iter().any(|v| norm(v) == have),
            MatchOp::Contains => self
                .values
                .iter()
                .any(|v| !norm(v).is_empty() && have.contains(&norm(v))),
        }
    }

    fn describe(&self, field_text: &str) -> String {
        let op = match self.op {
            MatchOp::In => "is one of",
            MatchOp::Contains => "contains one of",
        };
        format!("{} = \"{}\" {op} [{}]", self.field, field_text, self.values.join(", "))
    }
}

impl RuleSpec {
    /// Checks the rule's shape; `is_field` says whether the module has a field.
    pub fn check(&self, is_field: &dyn Fn(&str) -> bool) -> Result<(), Refusal> {
        let bad = |en: String| Refusal::new("form6_rule_invalid", en.clone()).arg("reason", en);
        if self.branches.len() > MAX_BRANCHES {
            return Err(bad(format!("a rule has at most {MAX_BRANCHES} branches")));
        }
        if self.branches.is_empty() && self.fallback.is_none() {
            return Err(bad("a rule needs at least one branch or a fallback".into()));
        }
        let targets = self.branches.iter().map(|b| &b.target).chain(self.fallback.as_ref());
        for t in targets {
            let users = t.users();
            if users.is_empty() {
                return Err(bad("a round-robin group needs at least one user".into()));
            }
            if users.len() > MAX_GROUP {
                return Err(bad(format!("a round-robin group has at most {MAX_GROUP} users")));
            }
        }
        for (i, b) in self.branches.iter().enumerate() {
            if b.when.is_empty() {
                return Err(bad(format!("branch {} has no condition", i + 1)));
            }
            for c in &b.when {
                if !is_field(&c.field) {
                    return Err(bad(format!("branch {}: unknown field `{}`", i + 1, c.field)));
                }
                if c.values.is_empty() || c.values.len() > MAX_VALUES {
                    return Err(bad(format!(
                        "branch {}: a condition lists 1 to {MAX_VALUES} values",
                        i + 1
                    )));
                }
            }
        }
        if let Some(h) = self.followup_hours
            && !(0..=MAX_FOLLOWUP_HOURS).contains(&h)
        {
            return Err(bad(format!(
                "the follow-up is due 0 to {MAX_FOLLOWUP_HOURS} hours later"
            )));
        }
        Ok(())
    }

    /// The first branch whose conditions all hold, else the fallback. `text` gives a
    /// field's value as text ("" when empty).
    pub fn matching(&self, text: &dyn Fn(&str) -> String) -> Option<Matched<'_>> {
        for (i, b) in self.branches.iter().enumerate() {
            if b.when.iter().all(|c| c.holds(&text(&c.field))) {
                let why = b
                    .when
                    .iter()
                    .map(|c| c.describe(&text(&c.field)))
                    .collect::<Vec<_>>()
                    .join(" and ");
                return Some(Matched {
                    slot: Slot::Branch(i),
                    target: &b.target,
                    why: format!("branch {} matched: {why}", i + 1),
                });
            }
        }
        self.fallback.as_ref().map(|t| Matched {
            slot: Slot::Fallback,
            target: t,
            why: if self.branches.is_empty() {
                "no conditions: the rule's default".into()
            } else {
                "no branch matched: fallback".into()
            },
        })
    }
}

/// The outcome of choosing in a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pick {
    /// The chosen user, `None` when every member is inactive.
    pub user_id: Option<i64>,
    /// The pointer to store for the next choice.
    pub next_pointer: i64,
    /// Inactive members passed over on the way.
    pub skipped: Vec<i64>,
}

/// Chooses from a target: a fixed user (if active), or the next active member of a
/// round-robin group starting at `pointer` (a counter that only grows; taken modulo the
/// group size). The pointer moves past the chosen member.
pub fn pick(target: &Target, pointer: i64, is_active: &dyn Fn(i64) -> bool) -> Pick {
    match target {
        Target::User { user_id } => Pick {
            user_id: is_active(*user_id).then_some(*user_id),
            next_pointer: pointer,
            skipped: if is_active(*user_id) { vec![] } else { vec![*user_id] },
        },
        Target::RoundRobin { user_ids } => {
            let n = user_ids.len() as i64;
            let mut skipped = Vec::new();
            if n == 0 {
                return Pick {
                    user_id: None,
                    next_pointer: pointer,
                    skipped,
                };
            }
            let start = pointer.max(0);
            for step in 0..n {
                let slot = start + step;
                let candidate = user_ids[(slot % n) as usize];
                if is_active(candidate) {
                    return Pick {
                        user_id: Some(candidate),
                        next_pointer: slot + 1,
                        skipped,
                    };
                }
                skipped.push(candidate);
            }
            Pick {
                user_id: None,
                next_pointer: start,
                skipped,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rr(ids: &[i64]) -> Target {
        Target::RoundRobin { user_ids: ids.to_vec() }
    }

    #[test]
    fn round_robin_turns_and_skips_inactive() {
        let t = rr(&[1, 2, 3]);
        let active = |u: i64| u != 2;
        let a = pick(&t, 0, &active);
        assert_eq!((a.user_id, a.next_pointer), (Some(1), 1));
        let b = pick(&t, a.next_pointer, &active);
        assert_eq!((b.user_id, b.next_pointer, b.skipped.clone()), (Some(3), 3, vec![2]));
        let c = pick(&t, b.next_pointer, &active);
        assert_eq!(c.user_id, Some(1));
        let none = pick(&t, 7, &|_| false);
        assert_eq!((none.user_id, none.next_pointer, none.skipped.len()), (None, 7, 3));
    }

    #[test]
    fn fixed_user_inactive_is_no_choice() {
        let t = Target::User { user_id: 9 };
        assert_eq!(pick(&t, 0, &|_| true).user_id, Some(9));
        assert_eq!(pick(&t, 0, &|_| false).user_id, None);
    }

    #[test]
    fn first_matching_branch_wins_then_fallback() {
        let spec = RuleSpec {
            branches: vec![
                Branch {
                    when: vec![Condition {
                        field: "state".into(),
                        op: MatchOp::In,
                        values: vec!["北京".into(), "Beijing".into()],
                    }],
                    target: Target::User { user_id: 5 },
                },
                Branch {
                    when: vec![Condition {
                        field: "leadsource".into(),
                        op: MatchOp::Contains,
                        values: vec!["web".into()],
                    }],
                    target: rr(&[6, 7]),
                },
            ],
            fallback: Some(Target::User { user_id: 8 }),
            followup_hours: Some(24),
        };
        let rec = |state: &'static str, src: &'static str| {
            move |f: &str| match f {
                "state" => state.to_string(),
                "leadsource" => src.to_string(),
                _ => String::new(),
            }
        };
        let m = spec.matching(&rec(" beijing ", "Web Site")).unwrap();
        assert_eq!(m.slot, Slot::Branch(0));
        assert!(m.why.contains("state"), "{}", m.why);
        assert_eq!(spec.matching(&rec("上海", "Web Site")).unwrap().slot, Slot::Branch(1));
        assert_eq!(spec.matching(&rec("上海", "")).unwrap().slot, Slot::Fallback);
        assert!(spec.check(&|f| f == "state" || f == "leadsource").is_ok());
        assert!(spec.check(&|f| f == "state").is_err());
    }

    #[test]
    fn malformed_rules_are_refused() {
        let empty = RuleSpec {
            branches: vec![],
            fallback: None,
            followup_hours: None,
        };
        assert!(empty.check(&|_| true).is_err());
        let empty_group = RuleSpec {
            branches: vec![],
            fallback: Some(rr(&[])),
            followup_hours: None,
        };
        assert!(empty_group.check(&|_| true).is_err());
        let late = RuleSpec {
            branches: vec![],
            fallback: Some(rr(&[1])),
            followup_hours: Some(-1),
        };
        assert!(late.check(&|_| true).is_err());
        assert!(serde_json::from_str::<RuleSpec>(r#"{"fallback":{"kind":"nobody"}}"#).is_err());
    }
}
