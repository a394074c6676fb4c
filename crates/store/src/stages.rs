//! Sales stages: what an administrator configures (order, labels, probability, kind,
//! guidance and checklist), each opportunity's stage history and its ticked checklist.
//!
//! The order, labels, probability and kind are the `sales_stage` picklist (stored as a
//! picklist override, so the registry and every node see them); guidance and checklists
//! are in `stage_guidance`. Stage history rows are written only by the record service,
//! inside its transaction ([`record_stage`]); nothing here writes a record.

use anyhow::Context;
use sable_core::Labels;
use sable_core::meta::{PicklistDef, PicklistValueDef, StageKind};
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::db::Tx;
use crate::error::{StoreError, StoreResult};
use crate::meta_store::bump_version;
use crate::now_ms;
use crate::record::format_ms;
use crate::store::Store;

/// The picklist holding the stages.
pub const PICKLIST: &str = "sales_stage";
/// The module whose records move through the stages.
pub const MODULE: &str = "Opportunities";

/// One sales stage as an administrator sees and edits it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageDef {
    /// The stored value (never changes when labels do).
    pub value: String,
    pub labels: Labels,
    pub probability: u32,
    pub kind: StageKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// What the salesperson should do now.
    #[serde(default)]
    pub guidance: Labels,
    /// Items ticked per opportunity.
    #[serde(default)]
    pub checklist: Vec<Labels>,
}

#[derive(Serialize, Deserialize, Default)]
struct Guidance {
    guidance: Labels,
    checklist: Vec<Labels>,
}

fn l(en: &str, zh: &str) -> Labels {
    Labels::new(en, zh)
}

/// The built-in guidance and checklist of a default stage.
fn builtin_guidance(value: &str) -> Guidance {
    let (guidance, checklist) = match value {
        "Prospecting" => (
            l(
                "Make first contact, learn who decides and whether there is a real need.",
                "初次接触客户，了解决策人以及是否存在真实需求。",
            ),
            vec![
                l("Reach the contact by phone or visit", "通过电话或拜访联系到对接人"),
                l("Identify the decision maker", "确认决策人"),
                l("Record the need in the description", "在描述中记录需求"),
            ],
        ),
        "Qualification" => (
            l(
                "Check budget, authority, need and timing before investing more time.",
                "在投入更多时间前，确认预算、决策权、需求和时间表。",
            ),
            vec![
                l("Budget confirmed", "预算已确认"),
                l("Decision process known", "决策流程已了解"),
                l("Expected close date set", "已设定预计成交日期"),
            ],
        ),
        "Needs Analysis" => (
            l(
                "Understand the customer's requirements in detail and who is affected.",
                "详细了解客户需求及相关部门和人员。",
            ),
            vec![
                l("Requirements meeting held", "已召开需求沟通会"),
                l("Requirements written down and confirmed", "需求已书面确认"),
            ],
        ),
        "Proposal" => (
            l(
                "Present a solution and a quotation that answer the needs.",
                "提交满足需求的解决方案和报价。",
            ),
            vec![l("Solution presented", "方案已演示"), l("Quotation sent", "报价已发送")],
        ),
        "Bidding" => (
            l(
                "Prepare the bid documents and know the competitors.",
                "准备投标文件，了解竞争对手情况。",
            ),
            vec![
                l("Bid documents submitted", "投标文件已提交"),
                l("Competitors identified", "已了解竞争对手"),
            ],
        ),
        "Negotiation" => (
            l(
                "Agree on price, terms and the contract; involve the decision maker.",
                "与决策人就价格、条款和合同达成一致。",
            ),
            vec![
                l("Price and terms agreed", "价格和条款已谈妥"),
                l("Contract sent for signature", "合同已发出待签"),
            ],
        ),
        "Closed Won" => (
            l(
                "Hand over to delivery and thank the customer.",
                "移交交付团队并感谢客户。",
            ),
            vec![
                l("Contract signed", "合同已签署"),
                l("Handed over to delivery", "已移交交付"),
            ],
        ),
        "Closed Lost" => (
            l(
                "Record why the deal was lost and what could be done next time.",
                "记录丢单原因及今后可改进之处。",
            ),
            vec![l("Lost reason recorded", "已记录丢单原因")],
        ),
        _ => (Labels::default(), Vec::new()),
    };
    Guidance { guidance, checklist }
}

/// The configured stages, in order.
pub async fn list_stages(store: &Store) -> StoreResult<Vec<StageDef>> {
    let registry = store.registry().await?;
    let list = registry
        .picklist(PICKLIST)
        .ok_or_else(|| StoreError::refused("refused_picklist_missing", "there is no sales_stage picklist"))?;
    let db = store.db();
    let mut saved = std::collections::HashMap::new();
    for row in db
        .fetch_all(db.sql().push("SELECT stage, definition FROM stage_guidance"))
        .await?
    {
        let g: Guidance = serde_json::from_str(&row.text("definition")?).context("reading a stage's guidance")?;
        saved.insert(row.text("stage")?, g);
    }
    Ok(list
        .values
        .iter()
        .map(|v| {
            let g = saved.remove(&v.value).unwrap_or_else(|| builtin_guidance(&v.value));
            StageDef {
                value: v.value.clone(),
                labels: v.labels.clone(),
                probability: v.probability.unwrap_or(0),
                kind: v.kind.unwrap_or(StageKind::Open),
                color: v.color.clone(),
                guidance: g.guidance,
                checklist: g.checklist,
            }
        })
        .collect())
}

/// One configured stage by value.
pub async fn stage(store: &Store, value: &str) -> StoreResult<Option<StageDef>> {
    Ok(list_stages(store).await?.into_iter().find(|s| s.value == value))
}

/// A refusal about one stage, with its catalogue key.
fn refused(key: &'static str, en: String, stage: &str) -> StoreError {
    StoreError::Refused(sable_core::Refusal::new(key, en).arg("stage", stage))
}

fn check_stages(stages: &mut [StageDef]) -> StoreResult<()> {
    if !stages.iter().any(|s| s.kind == StageKind::Open) {
        return Err(StoreError::refused(
            "stage_refused_no_open",
            "at least one stage must be open",
        ));
    }
    for s in stages.iter_mut() {
        s.value = s.value.trim().to_string();
        if s.probability > 100 {
            return Err(refused(
                "stage_refused_probability",
                format!("the probability of `{}` must be between 0 and 100", s.value),
                &s.value,
            ));
        }
        if s.checklist.len() > 50 || s.guidance.en.chars().count() > 4000 || s.guidance.zh.chars().count() > 4000 {
            return Err(refused(
                "stage_refused_too_long",
                format!("the guidance or checklist of `{}` is too long", s.value),
                &s.value,
            ));
        }
        s.checklist
            .retain(|c| !(c.en.trim().is_empty() && c.zh.trim().is_empty()));
        for c in &mut s.checklist {
            if c.en.chars().count() > 200 || c.zh.chars().count() > 200 {
                return Err(refused(
                    "stage_refused_too_long",
                    format!("the guidance or checklist of `{}` is too long", s.value),
                    &s.value,
                ));
            }
            if c.en.trim().is_empty() {
                c.en = c.zh.clone();
            }
            if c.zh.trim().is_empty() {
                c.zh = c.en.clone();
            }
        }
    }
    Ok(())
}

/// Replaces the stages (administrators only). A value left out that an opportunity
/// still holds (also in the recycle bin) is refused: labels may change, values stay.
/// When a stage's checklist changes, its ticks follow their items (see [`tick_moves`]).
pub async fn set_stages(store: &Store, actor: &Actor, mut stages: Vec<StageDef>) -> StoreResult<Vec<StageDef>> {
    if !actor.is_admin {
        return Err(StoreError::Forbidden(
            "only an administrator may change sales stages".into(),
        ));
    }
    check_stages(&mut stages)?;
    let list = PicklistDef {
        name: PICKLIST.into(),
        values: stages
            .iter()
            .map(|s| PicklistValueDef {
                value: s.value.clone(),
                labels: s.labels.clone(),
                probability: Some(s.probability),
                kind: Some(s.kind),
                color: s.color.clone(),
            })
            .collect(),
    };
    let mut check = (*store.registry().await?).clone();
    check.set_picklist(list)?;
    let list = check
        .picklist(PICKLIST)
        .cloned()
        .ok_or_else(|| StoreError::refused("refused_picklist_missing", "there is no sales_stage picklist"))?;
    let before = list_stages(store).await?;
    let table = crate::schema::table_name(check.module(MODULE)?);
    let mut w = store.begin_write().await?;
    for old in before
        .iter()
        .filter(|o| !list.values.iter().any(|v| v.value == o.value))
    {
        let mut q = w.tx.sql();
        q.push(&format!("SELECT COUNT(*) AS n FROM {table} WHERE sales_stage = "))
            .bind(old.value.as_str());
        let n = w.tx.fetch_one(&q).await?.int("n")?;
        if n > 0 {
            return Err(StoreError::Refused(
                sable_core::Refusal::new(
                    "stage_refused_in_use",
                    format!(
                        "the stage “{}” is used by {n} opportunities and cannot be removed",
                        old.labels.en
                    ),
                )
                .arg("stage_en", old.labels.en.clone())
                .arg("stage_zh", old.labels.zh.clone())
                .arg("count", n.to_string()),
            ));
        }
    }
    let now = now_ms();
    let mut q = w.tx.sql();
    q.push("INSERT INTO picklist_overrides (name, definition, created_at, updated_at) VALUES (")
        .bind(PICKLIST)
        .push(", ")
        .bind(serde_json::to_string(&list).context("encoding picklist")?)
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at");
    w.tx.execute(&q).await?;
    w.tx.execute(w.tx.sql().push("DELETE FROM stage_guidance")).await?;
    for (s, v) in stages.iter().zip(&list.values) {
        if let Some(old) = before.iter().find(|o| o.value == v.value)
            && old.checklist != s.checklist
        {
            move_ticks(&mut w.tx, &v.value, &old.checklist, &s.checklist).await?;
        }
        let g = Guidance {
            guidance: s.guidance.clone(),
            checklist: s.checklist.clone(),
        };
        let mut q = w.tx.sql();
        q.push("INSERT INTO stage_guidance (stage, definition, created_at, updated_at) VALUES (")
            .bind(v.value.as_str())
            .push(", ")
            .bind(serde_json::to_string(&g).context("encoding guidance")?)
            .push(", ")
            .bind(now)
            .push(", ")
            .bind(now)
            .push(")");
        w.tx.execute(&q).await?;
    }
    bump_version(&mut w.tx).await?;
    w.commit().await?;
    store.reload_registry().await?;
    list_stages(store).await
}

/// Where each old checklist item went: the position of the same item (same English and
/// Chinese text) in the new checklist, or none when it was removed or its text changed.
pub fn tick_moves(old: &[Labels], new: &[Labels]) -> Vec<Option<u32>> {
    let mut used = vec![false; new.len()];
    old.iter()
        .map(|o| {
            let j = new.iter().enumerate().position(|(j, n)| !used[j] && n == o)?;
            used[j] = true;
            u32::try_from(j).ok()
        })
        .collect()
}

/// Keeps a stage's ticks on their items when its checklist changes: a tick follows its
/// item to its new position; a tick on an item removed or reworded is dropped, never
/// moved onto another item.
async fn move_ticks(tx: &mut Tx, stage: &str, old: &[Labels], new: &[Labels]) -> StoreResult<()> {
    // Park moved ticks at negative positions, so no move collides with another.
    for (i, to) in tick_moves(old, new).into_iter().enumerate() {
        let Some(to) = to else { continue };
        let mut q = tx.sql();
        q.push("UPDATE stage_checklist SET item = ")
            .bind(-1 - i64::from(to))
            .push(" WHERE stage = ")
            .bind(stage)
            .push(" AND item = ")
            .bind(i64::try_from(i).unwrap_or(i64::MAX));
        tx.execute(&q).await?;
    }
    let mut q = tx.sql();
    q.push("DELETE FROM stage_checklist WHERE stage = ")
        .bind(stage)
        .push(" AND item >= 0");
    tx.execute(&q).await?;
    let mut q = tx.sql();
    q.push("UPDATE stage_checklist SET item = -1 - item WHERE stage = ")
        .bind(stage)
        .push(" AND item < 0");
    tx.execute(&q).await?;
    Ok(())
}

/// One stage an opportunity was in.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StageVisit {
    pub stage: String,
    pub entered_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_at: Option<String>,
    pub user_id: i64,
    pub user: String,
    /// When it was entered, in milliseconds (for showing in the viewer's zone).
    #[serde(skip)]
    pub entered_ms: i64,
    /// Whole days spent in the stage (until now for the current one).
    pub days: i64,
}

/// Records that an opportunity entered `stage` (closing the previous visit), inside the
/// record service's transaction. Does nothing when the stage is unchanged.
/// `before` is the stage the record was in and since when, for a record written before
/// stage history existed (it then gets that first visit, by an unknown user).
pub(crate) async fn record_stage(
    tx: &mut Tx,
    record_id: i64,
    stage: &str,
    user_id: i64,
    before: Option<(&str, i64)>,
) -> anyhow::Result<()> {
    let mut q = tx.sql();
    q.push("SELECT id, stage FROM stage_history WHERE left_at IS NULL AND record_id = ")
        .bind(record_id)
        .push(" ORDER BY id DESC");
    let open = tx.fetch_optional(&q).await?;
    if let Some(row) = &open
        && row.text("stage")? == stage
    {
        return Ok(());
    }
    let now = now_ms();
    if open.is_none()
        && let Some((previous, since)) = before
    {
        let mut q = tx.sql();
        q.push("SELECT COUNT(*) AS n FROM stage_history WHERE record_id = ")
            .bind(record_id);
        if tx.fetch_one(&q).await?.int("n")? == 0 {
            let mut q = tx.sql();
            q.push("INSERT INTO stage_history (record_id, stage, entered_at, left_at, user_id, created_at, updated_at) VALUES (")
                .bind(record_id)
                .push(", ")
                .bind(previous)
                .push(", ")
                .bind(since)
                .push(", ")
                .bind(now)
                .push(", 0, ")
                .bind(now)
                .push(", ")
                .bind(now)
                .push(")");
            tx.execute(&q).await?;
        }
    }
    if let Some(row) = open {
        let mut q = tx.sql();
        q.push("UPDATE stage_history SET left_at = ")
            .bind(now)
            .push(", updated_at = ")
            .bind(now)
            .push(" WHERE id = ")
            .bind(row.int("id")?);
        tx.execute(&q).await?;
    }
    let mut q = tx.sql();
    q.push("INSERT INTO stage_history (record_id, stage, entered_at, user_id, created_at, updated_at) VALUES (")
        .bind(record_id)
        .push(", ")
        .bind(stage)
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(user_id)
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(")");
    tx.execute(&q).await?;
    Ok(())
}

/// The stage history of an opportunity the actor may see, oldest first.
pub async fn stage_history(store: &Store, actor: &Actor, record_id: i64) -> StoreResult<Vec<StageVisit>> {
    let record = store.records(actor).get_including_deleted(MODULE, record_id).await?;
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT h.stage, h.entered_at, h.left_at, h.user_id, COALESCE(r.label, '') AS user_label FROM stage_history h LEFT JOIN records r ON r.id = h.user_id WHERE h.record_id = ")
        .bind(record_id)
        .push(" ORDER BY h.entered_at, h.id");
    let now = now_ms();
    let rows = db.fetch_all(&q).await?;
    if rows.is_empty() {
        // Written before stage history existed: its current stage since it was created.
        use sable_core::Value;
        if let (Some(Value::Text(stage)), Some(Value::DateTime(t))) =
            (record.values.get("sales_stage"), record.values.get("createdtime"))
        {
            let entered = t.as_millisecond();
            return Ok(vec![StageVisit {
                stage: stage.clone(),
                entered_at: format_ms(entered),
                left_at: None,
                user_id: 0,
                user: String::new(),
                entered_ms: entered,
                days: (now - entered) / 86_400_000,
            }]);
        }
    }
    Ok(rows
        .iter()
        .map(|r| {
            let entered = r.int("entered_at")?;
            let left = r.opt_int("left_at")?;
            Ok(StageVisit {
                stage: r.text("stage")?,
                entered_at: format_ms(entered),
                left_at: left.map(format_ms),
                user_id: r.int("user_id")?,
                user: r.text("user_label")?,
                entered_ms: entered,
                days: (left.unwrap_or(now) - entered) / 86_400_000,
            })
        })
        .collect::<anyhow::Result<_>>()?)
}

/// The checklist items (indexes) ticked on an opportunity for a stage.
pub async fn ticked_items(store: &Store, actor: &Actor, record_id: i64, stage: &str) -> StoreResult<Vec<u32>> {
    store.records(actor).get(MODULE, record_id).await?;
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT item FROM stage_checklist WHERE record_id = ")
        .bind(record_id)
        .push(" AND stage = ")
        .bind(stage)
        .push(" ORDER BY item");
    Ok(db
        .fetch_all(&q)
        .await?
        .iter()
        .map(|r| Ok(u32::try_from(r.int("item")?).unwrap_or(0)))
        .collect::<anyhow::Result<_>>()?)
}

/// Ticks or unticks a checklist item of a stage on an opportunity the actor may edit.
pub async fn set_item(
    store: &Store,
    actor: &Actor,
    record_id: i64,
    stage_value: &str,
    item: u32,
    done: bool,
) -> StoreResult<()> {
    let record = store.records(actor).get(MODULE, record_id).await?;
    let registry = store.registry().await?;
    let owner = match record.values.get("assigned_user_id") {
        Some(sable_core::Value::Id(o)) => Some(*o),
        _ => None,
    };
    if !crate::read::may_write(actor, registry.module(MODULE)?, owner) {
        return Err(StoreError::Forbidden(format!(
            "you may read but not change {MODULE} {record_id}"
        )));
    }
    let Some(s) = stage(store, stage_value).await? else {
        return Err(refused(
            "stage_refused_unknown",
            format!("there is no stage `{stage_value}`"),
            stage_value,
        ));
    };
    if item as usize >= s.checklist.len() {
        return Err(refused(
            "stage_refused_no_item",
            format!("stage `{stage_value}` has no checklist item {item}"),
            stage_value,
        ));
    }
    let db = store.db();
    let mut q = db.sql();
    if done {
        let now = now_ms();
        q.push("INSERT INTO stage_checklist (record_id, stage, item, user_id, created_at, updated_at) VALUES (")
            .bind(record_id)
            .push(", ")
            .bind(stage_value)
            .push(", ")
            .bind(i64::from(item))
            .push(", ")
            .bind(actor.user_id)
            .push(", ")
            .bind(now)
            .push(", ")
            .bind(now)
            .push(") ON CONFLICT (record_id, stage, item) DO NOTHING");
    } else {
        q.push("DELETE FROM stage_checklist WHERE record_id = ")
            .bind(record_id)
            .push(" AND stage = ")
            .bind(stage_value)
            .push(" AND item = ")
            .bind(i64::from(item));
    }
    db.execute(&q).await?;
    Ok(())
}

/// Fills what the stage decides on an opportunity being written, before it is checked
/// and stored: `probability` from the stage when the stage is set or changed and no
/// probability was given, `forecast_amount` = amount × probability, and a required
/// `lost_reason` on a lost stage. `current` is the stored record on an update.
/// `require_reason` is false when importing history, whose lost deals seldom say why:
/// refusing them would make old pipelines impossible to bring in.
pub(crate) fn derive(
    registry: &sable_core::Registry,
    m: &sable_core::meta::ModuleDef,
    current: Option<&sable_core::record::FieldValues>,
    values: &mut sable_core::record::FieldValues,
    require_reason: bool,
) -> Result<(), sable_core::ValidationErrors> {
    use sable_core::Value;
    if m.name != MODULE {
        return Ok(());
    }
    let merged = |name: &str, values: &sable_core::record::FieldValues| -> Option<Value> {
        match values.get(name) {
            Some(v) if v.is_empty() => None,
            Some(v) => Some(v.clone()),
            None => current.and_then(|c| c.get(name)).filter(|v| !v.is_empty()).cloned(),
        }
    };
    let stage_value = match merged("sales_stage", values) {
        Some(Value::Text(s)) => Some(s),
        _ => None,
    };
    let stage = stage_value.as_deref().and_then(|s| {
        registry
            .picklist(PICKLIST)
            .and_then(|p| p.values.iter().find(|v| v.value == s))
    });
    // A form sends every field back: a value equal to the stored one is not a change (an
    // empty one equals a missing one).
    let shown = |v: Option<&Value>| v.filter(|v| !v.is_empty()).cloned();
    let changes =
        |name: &str| values.contains_key(name) && shown(values.get(name)) != shown(current.and_then(|c| c.get(name)));
    let (stage_changed, probability_given, reason_changed) =
        (changes("sales_stage"), changes("probability"), changes("lost_reason"));
    if (current.is_none() || stage_changed)
        && !probability_given
        && let Some(p) = stage.and_then(|s| s.probability)
    {
        values.insert("probability".into(), Value::Scaled(i64::from(p) * 100));
    }
    let forecast = match (merged("amount", values), merged("probability", values)) {
        (Some(Value::Scaled(amount)), Some(Value::Scaled(p))) => {
            Value::Scaled(i64::try_from(i128::from(amount) * i128::from(p) / 10_000).unwrap_or(i64::MAX))
        }
        _ => Value::Null,
    };
    values.insert("forecast_amount".into(), forecast);
    // On an update the reason is asked for when the record enters a lost stage or the
    // reason is being cleared, so editing another field of an old lost deal still works.
    let asked = current.is_none() || stage_changed || reason_changed;
    if require_reason
        && asked
        && stage.and_then(|s| s.kind) == Some(StageKind::Lost)
        && merged("lost_reason", values).is_none()
    {
        let mut e = sable_core::ValidationErrors::default();
        e.add("lost_reason", sable_core::error::FieldError::Required);
        return Err(e);
    }
    Ok(())
}

/// Writes the stage history of an opportunity just created or changed, inside the record
/// service's transaction.
pub(crate) async fn after_write(
    tx: &mut Tx,
    m: &sable_core::meta::ModuleDef,
    id: i64,
    values: &sable_core::record::FieldValues,
    user_id: i64,
    before: Option<&sable_core::record::FieldValues>,
) -> anyhow::Result<()> {
    use sable_core::Value;
    if m.name != MODULE {
        return Ok(());
    }
    let previous = before.and_then(|b| match (b.get("sales_stage"), b.get("createdtime")) {
        (Some(Value::Text(s)), Some(Value::DateTime(t))) => Some((s.as_str(), t.as_millisecond())),
        _ => None,
    });
    if let Some(Value::Text(stage)) = values.get("sales_stage") {
        record_stage(tx, id, stage, user_id, previous).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tick_tests {
    use super::*;

    fn l(s: &str) -> Labels {
        Labels {
            en: s.into(),
            zh: s.into(),
        }
    }

    #[test]
    fn ticks_follow_items_and_are_dropped_with_them() {
        let old = [l("a"), l("b"), l("c"), l("a")];
        let new = [l("x"), l("c"), l("a")];
        assert_eq!(tick_moves(&old, &new), [Some(2), None, Some(1), None]);
        assert_eq!(tick_moves(&old, &[]), [None, None, None, None]);
    }
}
