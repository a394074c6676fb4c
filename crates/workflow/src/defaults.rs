//! The workflows Sable ships, disabled but ready: an administrator only has to pick the
//! assignment rule (or keep the stage e-mails as they are) and enable them.

use sable_core::workflow::{Action, Recipient, Trigger, WorkflowDef};
use serde_json::json;

/// Key of "new web lead → round robin → follow-up task + e-mail to the assignee".
pub const WEB_LEAD: &str = "web_lead_round_robin";
/// Key of "opportunity enters a stage → the stage's guidance to the owner".
pub const STAGE_GUIDANCE: &str = "stage_guidance";

/// The defaults with their keys.
pub fn all(round_robin_rule: i64) -> Vec<(&'static str, WorkflowDef)> {
    vec![
        (
            WEB_LEAD,
            WorkflowDef {
                module: "Leads".into(),
                name: "New web lead: assign, follow up, notify / 新网站线索：分配、跟进、通知".into(),
                description: "Assigns each lead from the website by round robin, gives the assignee a follow-up task due tomorrow and e-mails them. / 按轮询分配来自官网的线索，为负责人创建明天到期的跟进任务并发邮件通知。".into(),
                enabled: false,
                trigger: Trigger::OnCreate,
                condition: Some(json!({"all": [{"field": "leadsource", "op": "eq", "value": "Web Site"}]})),
                actions: vec![
                    Action::AssignOwner {
                        rule_id: round_robin_rule,
                    },
                    Action::CreateActivity {
                        module: "Tasks".into(),
                        subject: "Follow up / 跟进：{{ label }}".into(),
                        due_in_days: 1,
                        description: Some("{{ company }} {{ email }} {{ phone }}".into()),
                        priority: Some("High".into()),
                    },
                    Action::SendEmail {
                        template_id: None,
                        subject: Some("New web lead / 新网站线索：{{ label }}".into()),
                        body: Some(
                            "{{ owner.name }}:\n\nA new lead came from the website and is yours / 一条新的官网线索已分配给您：\n\n{{ label }}\n{{ company }}\n{{ email }}\n{{ phone }}\n\nA follow-up task is due {{ today }} + 1 / 跟进任务明天到期。\n".into(),
                        ),
                        to: Recipient::Owner,
                    },
                ],
            },
        ),
        (
            STAGE_GUIDANCE,
            WorkflowDef {
                module: "Opportunities".into(),
                name: "Stage guidance to the owner / 阶段指引发给负责人".into(),
                description: "When an opportunity enters a stage, e-mails that stage's guidance and checklist to its owner in the owner's language. / 商机进入某阶段时，用负责人的语言把该阶段的指引和检查清单发给负责人。".into(),
                enabled: false,
                trigger: Trigger::StageEntered { stage: None },
                condition: None,
                actions: vec![Action::SendStageGuidance],
            },
        ),
    ]
}

/// Adds the defaults that are missing (disabled). The web-lead workflow names rule 1
/// until an administrator picks another.
pub async fn install(store: &sable_store::Store) -> anyhow::Result<usize> {
    let defs = all(1);
    let refs: Vec<(&str, WorkflowDef)> = defs.into_iter().collect();
    sable_store::workflows::ensure_defaults(store, &refs).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let reg = sable_core::Registry::builtin().expect("builtin");
        for (key, def) in all(1) {
            def.validate(&reg).unwrap_or_else(|e| panic!("{key}: {e}"));
            assert!(!def.enabled);
        }
    }
}
