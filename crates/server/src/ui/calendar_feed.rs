//! The iCalendar feed of a user's tasks and events, `GET /ics/{token}.ics`, for calendar
//! subscriptions (Outlook, Google, Apple). The token is the only credential: it is random,
//! kept hashed by the store, rotated or revoked on the agenda page. Output is RFC 5545:
//! CRLF line ends, lines folded at 75 octets, text escaped, times in UTC (all-day items as
//! `VALUE=DATE`), UIDs stable per record, DTSTAMP from the record's last change. Open tasks
//! are written twice, as a VTODO and as a VEVENT on their due date or time (own UID), since
//! Google Calendar and Outlook subscriptions show no VTODOs; subscribers refresh hourly.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use sable_store::calendar::{AgendaItem, agenda, feed_user};

use crate::AppState;

/// Days of history and of future the feed carries.
const PAST_DAYS: i64 = 90;
const FUTURE_DAYS: i64 = 365;

/// `GET /ics/{token}.ics`.
pub async fn feed(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "no such calendar").into_response();
    let Some(token) = file.strip_suffix(".ics") else {
        return not_found();
    };
    let user = match feed_user(&state.store, token).await {
        Ok(Some(u)) => u,
        Ok(None) => return not_found(),
        Err(e) => return crate::error::AppError::from(e).into_response(),
    };
    let actor = user.actor();
    let today = Timestamp::now().to_zoned_datetime(actor.tz().clone()).date();
    let from = today.saturating_sub(jiff::Span::new().days(PAST_DAYS));
    let to = today.saturating_add(jiff::Span::new().days(FUTURE_DAYS));
    let items = match agenda(&state.store, &actor, from, to).await {
        Ok(items) => items,
        Err(e) => return crate::error::AppError::from(e).into_response(),
    };
    let body = calendar(&user.display_name(), &items);
    (
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// Escapes a TEXT value (RFC 5545 §3.3.11).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets, never inside a UTF-8 character (§3.1), and ends it with CRLF.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut used = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if used + len > 75 {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += len;
    }
    out.push_str("\r\n");
    out
}

fn utc(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

fn day(d: Date) -> String {
    d.strftime("%Y%m%d").to_string()
}

fn next_day(d: Date) -> Date {
    d.tomorrow().unwrap_or(d)
}

/// The whole calendar.
pub fn calendar(name: &str, items: &[AgendaItem]) -> String {
    let mut lines: Vec<String> = vec![
        "BEGIN:VCALENDAR".into(),
        "VERSION:2.0".into(),
        "PRODID:-//Sable//Sable CRM//EN".into(),
        "CALSCALE:GREGORIAN".into(),
        "METHOD:PUBLISH".into(),
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H".into(),
        "X-PUBLISHED-TTL:PT1H".into(),
        format!("X-WR-CALNAME:{}", escape(&format!("Sable · {name}"))),
    ];
    for i in items {
        lines.extend(component(i));
        if i.module != "Events" && i.open {
            lines.extend(task_event(i));
        }
    }
    lines.push("END:VCALENDAR".into());
    lines.iter().map(|l| fold(l)).collect()
}

/// An open task again as a VEVENT on its due date (all day) or at its due time (30 minutes),
/// since Google Calendar and Outlook subscriptions do not show VTODOs.
fn task_event(i: &AgendaItem) -> Vec<String> {
    let mut l = vec![
        "BEGIN:VEVENT".to_string(),
        format!("UID:sable-task-event-{}@sable", i.id),
        format!("DTSTAMP:{}", utc(i.modified)),
        format!("SUMMARY:{}", escape(&i.subject)),
    ];
    match i.at {
        Some(at) => {
            l.push(format!("DTSTART:{}", utc(at)));
            l.push(format!("DTEND:{}", utc(at + SignedDuration::from_mins(30))));
        }
        None => {
            l.push(format!("DTSTART;VALUE=DATE:{}", day(i.day)));
            l.push(format!("DTEND;VALUE=DATE:{}", day(next_day(i.day))));
        }
    }
    l.push("TRANSP:TRANSPARENT".into());
    l.push("CATEGORIES:Task".into());
    l.extend(description_line(i));
    l.push("END:VEVENT".into());
    l
}

fn component(i: &AgendaItem) -> Vec<String> {
    let event = i.module == "Events";
    let kind = if event { "VEVENT" } else { "VTODO" };
    let mut l = vec![
        format!("BEGIN:{kind}"),
        format!("UID:sable-{}-{}@sable", if event { "event" } else { "task" }, i.id),
        format!("DTSTAMP:{}", utc(i.modified)),
        format!("SUMMARY:{}", escape(&i.subject)),
    ];
    if event {
        match i.at {
            Some(at) => {
                l.push(format!("DTSTART:{}", utc(at)));
                let end = i.end.filter(|e| *e > at).unwrap_or(at + SignedDuration::from_hours(1));
                l.push(format!("DTEND:{}", utc(end)));
            }
            None => {
                l.push(format!("DTSTART;VALUE=DATE:{}", day(i.day)));
                let last = i.end_day.filter(|e| *e >= i.day).unwrap_or(i.day);
                l.push(format!("DTEND;VALUE=DATE:{}", day(next_day(last))));
            }
        }
        let status = match i.status.as_str() {
            "Held" => "CONFIRMED",
            "Not Held" => "CANCELLED",
            _ => "TENTATIVE",
        };
        l.push(format!("STATUS:{status}"));
        if !i.kind.is_empty() {
            l.push(format!("CATEGORIES:{}", escape(&i.kind)));
        }
        if !i.location.is_empty() {
            l.push(format!("LOCATION:{}", escape(&i.location)));
        }
    } else {
        match i.at {
            Some(at) => l.push(format!("DUE:{}", utc(at))),
            None => l.push(format!("DUE;VALUE=DATE:{}", day(i.day))),
        }
        let status = match i.status.as_str() {
            "Completed" => "COMPLETED",
            "In Progress" => "IN-PROCESS",
            "Deferred" => "CANCELLED",
            _ => "NEEDS-ACTION",
        };
        l.push(format!("STATUS:{status}"));
    }
    l.extend(description_line(i));
    l.push(format!("END:{kind}"));
    l
}

/// The DESCRIPTION line: the activity's description, then the record it is linked to.
fn description_line(i: &AgendaItem) -> Option<String> {
    let text = [i.description.as_str(), i.related.as_str()]
        .into_iter()
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    (!text.is_empty()).then(|| format!("DESCRIPTION:{}", escape(&text)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    fn item(module: &str, all_day: bool) -> AgendaItem {
        let at: Timestamp = "2026-12-08T02:30:00Z".parse().unwrap();
        AgendaItem {
            module: module.into(),
            id: 42,
            subject: "拜访客户; 讨论报价, 价格\\折扣".into(),
            status: if module == "Events" {
                "Planned".into()
            } else {
                "Not Started".into()
            },
            kind: "Visit".into(),
            day: date(2026, 12, 8),
            time: if all_day { None } else { Some(time(10, 30, 0, 0)) },
            at: if all_day { None } else { Some(at) },
            end: None,
            end_day: None,
            all_day,
            open: true,
            location: "北京市朝阳区".into(),
            description: "第一行\r\n第二行 ".to_string() + &"很长的描述".repeat(30),
            related: "北京华为".into(),
            modified: "2026-12-01T00:00:00Z".parse().unwrap(),
        }
    }

    /// Unfolds per §3.1, checking every physical line on the way.
    fn physical_lines(ics: &str) -> Vec<String> {
        assert!(ics.ends_with("\r\n"));
        assert!(!ics.replace("\r\n", "").contains('\n') && !ics.replace("\r\n", "").contains('\r'));
        let mut logical: Vec<String> = Vec::new();
        for line in ics.trim_end_matches("\r\n").split("\r\n") {
            assert!(line.len() <= 75, "over 75 octets: {line}");
            if let Some(rest) = line.strip_prefix(' ') {
                logical
                    .last_mut()
                    .expect("a continuation follows a line")
                    .push_str(rest);
            } else {
                logical.push(line.to_string());
            }
        }
        logical
    }

    #[test]
    fn a_calendar_is_valid_rfc_5545() {
        let ics = calendar(
            "王芳",
            &[item("Events", false), item("Tasks", false), item("Events", true)],
        );
        let lines = physical_lines(&ics);
        assert_eq!(lines.first().map(String::as_str), Some("BEGIN:VCALENDAR"));
        assert_eq!(lines.last().map(String::as_str), Some("END:VCALENDAR"));
        for needed in [
            "VERSION:2.0",
            "PRODID:-//Sable//Sable CRM//EN",
            "BEGIN:VEVENT",
            "BEGIN:VTODO",
        ] {
            assert!(lines.iter().any(|l| l == needed), "{needed}");
        }
        assert!(lines.contains(&"UID:sable-event-42@sable".to_string()));
        assert!(lines.contains(&"UID:sable-task-42@sable".to_string()));
        assert!(lines.contains(&"DTSTAMP:20261201T000000Z".to_string()));
        assert!(lines.contains(&"DTSTART:20261208T023000Z".to_string()));
        assert!(lines.contains(&"DTEND:20261208T033000Z".to_string()));
        assert!(lines.contains(&"DUE:20261208T023000Z".to_string()));
        assert!(lines.contains(&"DTSTART;VALUE=DATE:20261208".to_string()));
        assert!(lines.contains(&"DTEND;VALUE=DATE:20261209".to_string()));
        assert!(lines.contains(&"SUMMARY:拜访客户\\; 讨论报价\\, 价格\\\\折扣".to_string()));
        let description = lines.iter().find(|l| l.starts_with("DESCRIPTION:")).unwrap();
        assert!(
            description.starts_with("DESCRIPTION:第一行\\n第二行 很长的描述"),
            "{description}"
        );
        assert!(description.ends_with("\\n北京华为"));
        // Every component that begins ends, and each has the required UID and DTSTAMP.
        let begins = lines.iter().filter(|l| l.starts_with("BEGIN:V")).count();
        let ends = lines.iter().filter(|l| l.starts_with("END:V")).count();
        assert_eq!((begins, ends), (5, 5));
        assert_eq!(lines.iter().filter(|l| l.starts_with("UID:")).count(), 4);
        assert_eq!(lines.iter().filter(|l| l.starts_with("DTSTAMP:")).count(), 4);
        assert!(lines.contains(&"REFRESH-INTERVAL;VALUE=DURATION:PT1H".to_string()));
        assert!(lines.contains(&"X-PUBLISHED-TTL:PT1H".to_string()));
        // The open timed task is also a 30-minute VEVENT with its own UID.
        assert!(lines.contains(&"UID:sable-task-event-42@sable".to_string()));
        assert!(lines.contains(&"DTEND:20261208T030000Z".to_string()));
        for uid in ["UID:sable-task-event-42@sable", "UID:sable-task-42@sable"] {
            assert_eq!(lines.iter().filter(|l| *l == uid).count(), 1, "{uid}");
        }
    }

    #[test]
    fn open_tasks_are_also_events_and_closed_ones_are_not() {
        let all_day = item("Tasks", true);
        let ics = calendar("王芳", std::slice::from_ref(&all_day));
        let lines = physical_lines(&ics);
        let start = lines.iter().position(|l| l == "BEGIN:VEVENT").unwrap();
        let end = lines.iter().position(|l| l == "END:VEVENT").unwrap();
        let event = &lines[start..=end];
        assert!(event.contains(&"UID:sable-task-event-42@sable".to_string()));
        assert!(event.contains(&"DTSTART;VALUE=DATE:20261208".to_string()));
        assert!(event.contains(&"DTEND;VALUE=DATE:20261209".to_string()));
        assert!(lines.contains(&"DUE;VALUE=DATE:20261208".to_string()));
        assert!(lines.contains(&"UID:sable-task-42@sable".to_string()));
        let mut done = item("Tasks", false);
        done.open = false;
        done.status = "Completed".into();
        let lines = physical_lines(&calendar("王芳", &[done]));
        assert!(!lines.iter().any(|l| l == "BEGIN:VEVENT"));
        assert!(lines.iter().any(|l| l == "BEGIN:VTODO"));
    }

    #[test]
    fn folding_never_splits_a_character() {
        let line = format!("SUMMARY:{}", "汉".repeat(100));
        let folded = fold(&line);
        for l in folded.trim_end_matches("\r\n").split("\r\n") {
            assert!(l.len() <= 75);
        }
        assert_eq!(folded.trim_end_matches("\r\n").replace("\r\n ", ""), line);
        assert_eq!(fold("SHORT"), "SHORT\r\n");
    }
}
