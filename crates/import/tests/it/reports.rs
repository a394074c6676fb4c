//! Reports over the Maven sales pipeline (8,800 opportunities of 35 agents), imported the
//! way a user imports it, on every backend: won revenue per agent and per quarter.
//!
//! The expected figures were computed independently of Sable, with Python's `csv` and
//! `decimal` modules over `maven_crm_sales_opportunities/sales_pipeline.csv`: the rows with
//! `deal_stage == "Won"`, `close_value` summed per `sales_agent`, and per quarter of
//! `close_date` (`YYYY-Q((month-1)//3+1)`).

use std::path::{Path, PathBuf};

use sable_core::report::{ReportResult, ReportSpec};
use sable_import::mapping::MappingFile;
use sable_import::run::{ImportOptions, run_import};
use sable_import::table::{EncodingChoice, Limits, open_file};
use sable_store::reports::run;
use sable_store::testing::all_backends;
use sable_store::users;
use sable_store::{Actor, Store};
use serde_json::{Value, json};

use crate::util::shared_data;

/// Won revenue per agent, largest first (ties: none), with the number of deals won.
const WON_PER_AGENT: [(&str, i64, i64); 30] = [
    ("Darcel Schlecht", 1153214, 349),
    ("Vicki Laflamme", 478396, 221),
    ("Kary Hendrixson", 454298, 209),
    ("Cassey Cress", 450489, 163),
    ("Donn Cantrell", 445860, 158),
    ("Reed Clapper", 438336, 155),
    ("Zane Levy", 430068, 161),
    ("Corliss Cosme", 421036, 150),
    ("James Ascencio", 413533, 135),
    ("Daniell Hammack", 364229, 114),
    ("Maureen Marcano", 350395, 149),
    ("Gladys Colclough", 345674, 135),
    ("Markita Hansen", 328792, 130),
    ("Kami Bicknell", 316456, 174),
    ("Marty Freudenburg", 291195, 122),
    ("Elease Gluck", 289195, 80),
    ("Jonathan Berthelot", 284886, 171),
    ("Anna Snelling", 275056, 208),
    ("Hayden Neloms", 272111, 107),
    ("Boris Faz", 261631, 101),
    ("Rosalina Dieter", 235403, 72),
    ("Rosie Papadopoulos", 230169, 78),
    ("Cecily Lampkin", 229800, 107),
    ("Moses Frase", 207182, 129),
    ("Garret Kinder", 197773, 75),
    ("Lajuana Vencill", 194632, 127),
    ("Versie Hillebrand", 187693, 176),
    ("Niesha Huffines", 176961, 105),
    ("Wilburn Farren", 157640, 55),
    ("Violet Mclelland", 123431, 122),
];

/// Won revenue and deals per quarter of the close date.
const WON_PER_QUARTER: [(&str, i64, i64); 4] = [
    ("2017-Q1", 1134672, 531),
    ("2017-Q2", 3086111, 1254),
    ("2017-Q3", 2982255, 1257),
    ("2017-Q4", 2802496, 1196),
];

fn mapping(name: &str) -> MappingFile {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("mappings").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn import(store: &Store, actor: &Actor, module: &str, file: &Path, map: &str) {
    let table = open_file(file, EncodingChoice::Auto, Limits::default()).unwrap();
    let opts = ImportOptions {
        module: module.into(),
        mapping: Some(mapping(map)),
        batch: 500,
        default_owner: Some(actor.user_id()),
        ..ImportOptions::default()
    };
    let report = run_import(store, actor, table, &opts, |_| {}).await.unwrap();
    assert_eq!(report.failed, 0, "{module}: {:?}", report.rows.first());
}

fn spec(v: Value) -> ReportSpec {
    serde_json::from_value(v).unwrap()
}

fn won(group_by: Value) -> ReportSpec {
    spec(json!({"module": "Opportunities",
        "filter": {"all": [{"field": "sales_stage", "op": "eq", "value": "Closed Won"}]},
        "group_by": group_by,
        "aggregates": [{"fn": "sum", "field": "amount"}, {"fn": "count"}],
        "sort": [{"key": "sum(amount)", "desc": true}]}))
}

fn per_label(r: &ReportResult) -> Vec<(String, Value, Value)> {
    r.rows
        .iter()
        .zip(&r.labels)
        .map(|(row, labels)| (labels[0].clone().unwrap_or_default(), row[1].clone(), row[2].clone()))
        .collect()
}

#[tokio::test]
async fn maven_won_revenue_per_agent_and_quarter() {
    let Some(data) = shared_data() else { return };
    let maven = data.join("maven_crm_sales_opportunities");
    for db in all_backends().await {
        let store = db.store().await;
        users::ensure_admin(&store, Some("admin-password-1")).await.unwrap();
        let admin = users::find_user(&store, "admin").await.unwrap().unwrap().actor();
        let teams = open_file(&maven.join("sales_teams.csv"), EncodingChoice::Auto, Limits::default()).unwrap();
        sable_import::users::import_users(&store, &admin, teams, Some(&mapping("maven_sales_teams.json")))
            .await
            .unwrap();
        import(
            &store,
            &admin,
            "Accounts",
            &maven.join("accounts.csv"),
            "maven_accounts.json",
        )
        .await;
        import(
            &store,
            &admin,
            "Opportunities",
            &maven.join("sales_pipeline.csv"),
            "maven_opportunities.json",
        )
        .await;

        let r = run(&store, &admin, &won(json!([{"field": "assigned_user_id"}])))
            .await
            .unwrap();
        let expected: Vec<(String, Value, Value)> = WON_PER_AGENT
            .iter()
            .map(|(name, sum, n)| (name.to_string(), json!(sum), json!(n)))
            .collect();
        assert_eq!(per_label(&r), expected, "{}", db.backend);
        assert_eq!(r.totals.as_ref().unwrap()[1], json!(10_005_534));
        assert_eq!(r.totals.as_ref().unwrap()[2], json!(4238));

        let r = run(
            &store,
            &admin,
            &won(json!([{"field": "closingdate", "bucket": "quarter"}])),
        )
        .await
        .unwrap();
        let mut by_quarter: Vec<(String, Value, Value)> = r
            .rows
            .iter()
            .map(|row| {
                (
                    row[0].as_str().unwrap_or_default().to_string(),
                    row[1].clone(),
                    row[2].clone(),
                )
            })
            .collect();
        by_quarter.sort_by(|a, b| a.0.cmp(&b.0));
        let expected: Vec<(String, Value, Value)> = WON_PER_QUARTER
            .iter()
            .map(|(q, sum, n)| (q.to_string(), json!(sum), json!(n)))
            .collect();
        assert_eq!(by_quarter, expected, "{}", db.backend);

        // Agent × quarter as a matrix: its row totals are the per-agent figures and its
        // column totals the per-quarter ones.
        let r = run(
            &store,
            &admin,
            &spec(json!({"module": "Opportunities",
                "filter": {"field": "sales_stage", "op": "eq", "value": "Closed Won"},
                "group_by": [{"field": "assigned_user_id"}, {"field": "closingdate", "bucket": "quarter"}],
                "aggregates": [{"fn": "sum", "field": "amount"}],
                "sort": [{"key": "sum(amount)", "desc": true}], "pivot": true})),
        )
        .await
        .unwrap();
        let keys: Vec<&str> = r.columns.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "assigned_user_id",
                "sum(amount)@2017-Q1",
                "sum(amount)@2017-Q2",
                "sum(amount)@2017-Q3",
                "sum(amount)@2017-Q4",
                "sum(amount)"
            ]
        );
        let row_totals: Vec<(String, Value)> = r
            .rows
            .iter()
            .zip(&r.labels)
            .map(|(row, l)| (l[0].clone().unwrap_or_default(), row[5].clone()))
            .collect();
        let expected: Vec<(String, Value)> = WON_PER_AGENT
            .iter()
            .map(|(n, s, _)| (n.to_string(), json!(s)))
            .collect();
        assert_eq!(row_totals, expected, "{}", db.backend);
        let column_totals: Vec<Value> = r.totals.as_ref().unwrap()[1..5].to_vec();
        assert_eq!(
            column_totals,
            WON_PER_QUARTER.iter().map(|(_, s, _)| json!(s)).collect::<Vec<_>>()
        );

        // An agent sees only their own deals.
        let anna = users::find_user(&store, "anna.snelling")
            .await
            .unwrap()
            .unwrap()
            .actor();
        let r = run(&store, &anna, &won(json!([{"field": "assigned_user_id"}])))
            .await
            .unwrap();
        assert_eq!(r.rows.len(), 1, "{}", db.backend);
        assert_eq!(
            (r.rows[0][1].clone(), r.rows[0][2].clone()),
            (json!(275056), json!(208))
        );
        store.close().await;
        db.cleanup().await;
    }
}
