//! Scheduled report deliveries: a saved report with a daily schedule is e-mailed once per
//! scheduled instant, across nodes, with the report (run as its owner) attached.

use serde_json::json;

use sable_store::reports::{self, ReportInput};

use crate::helpers::*;
use crate::on_all_backends;
use crate::smtp::{Received, SmtpReceiver};

const HOUR: i64 = 3_600_000;

/// The attached file of a multipart message, decoded.
fn attachment(msg: &Received) -> Option<(String, String)> {
    let boundary = msg
        .header("Content-Type")?
        .split("boundary=")
        .nth(1)?
        .trim_matches('"')
        .to_string();
    let part = msg
        .data
        .split(&format!("--{boundary}"))
        .find(|p| p.contains("Content-Disposition: attachment"))?;
    let part = Received {
        rcpt: Vec::new(),
        data: part.trim_start_matches("\r\n").to_string(),
    };
    let name = part.header("Content-Disposition")?;
    Some((name, part.body()))
}

#[tokio::test]
async fn a_scheduled_report_is_mailed_once_per_slot_with_the_owners_rows_attached() {
    on_all_backends!(|store: sable_store::Store, backend: &'static str| async move {
        let smtp = SmtpReceiver::start().await;
        smtp_to(&store, smtp.port).await;
        let alice = user(&store, "alice", "en").await;
        let bob = user(&store, "bob", "en").await;
        for (actor, name, status) in [
            (alice.actor(), "A", "Hot"),
            (alice.actor(), "B", "Hot"),
            (alice.actor(), "C", "Cold"),
            (bob.actor(), "D", "Hot"),
        ] {
            store
                .records(&actor)
                .create("Leads", &obj(json!({"lastname": name, "leadstatus": status})))
                .await
                .expect("lead");
        }
        // The delivery time is two hours from now in alice's zone, so the first slot
        // falls after the report was saved whatever the time of day the test runs.
        let start = sable_store::now_ms() + 1_000;
        let at = jiff::Timestamp::from_millisecond(start + 2 * HOUR)
            .expect("instant")
            .to_zoned_datetime(alice.actor().tz().clone());
        let input: ReportInput = serde_json::from_value(json!({
            "name": "Hot leads",
            "spec": {"module": "Leads", "group_by": [{"field": "leadstatus"}], "aggregates": [{"fn": "count"}]},
            "schedule": {"frequency": "daily", "time": format!("{:02}:{:02}", at.hour(), at.minute()),
                         "recipients": ["boss@example.cn"], "format": "csv"}
        }))
        .expect("report input");
        reports::create_report(&store, &alice.actor(), &input)
            .await
            .expect("saved report");

        let clock = clock();
        clock.set_ms(start);
        let worker = engine(&store, &clock, "w1");
        worker.tick().await.expect("tick");
        assert!(
            smtp.messages().await.is_empty(),
            "{backend}: nothing before the first slot"
        );

        clock.set_ms(start + 3 * HOUR);
        worker.tick().await.expect("tick");
        worker.tick().await.expect("tick");
        engine(&store, &clock, "w2").tick().await.expect("another node");
        let got = smtp.messages().await;
        assert_eq!(got.len(), 1, "{backend}: one e-mail per slot across nodes: {got:#?}");
        let msg = &got[0];
        assert_eq!(msg.rcpt, ["boss@example.cn"], "{backend}");
        assert!(
            msg.header("Subject")
                .is_some_and(|s| s.starts_with("Report: Hot leads")),
            "{backend}: subject {:?}",
            msg.header("Subject")
        );
        assert!(
            msg.header("Message-ID").is_some_and(|m| m.contains("@sable.test")),
            "{backend}"
        );
        let (disposition, csv) = attachment(msg).expect("an attached file");
        assert!(
            disposition.contains("Hot_leads-") && disposition.contains(".csv"),
            "{backend}: {disposition}"
        );
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
        // Alice's own leads only (she owns the report): Hot 2, Cold 1 — not bob's Hot lead.
        assert!(lines.iter().any(|l| l.starts_with("Hot,2")), "{backend}: {lines:?}");
        assert!(lines.iter().any(|l| l.starts_with("Cold,1")), "{backend}: {lines:?}");

        clock.set_ms(start + 27 * HOUR);
        worker.tick().await.expect("tick");
        assert_eq!(smtp.messages().await.len(), 2, "{backend}: the next day's slot");
    });
}
