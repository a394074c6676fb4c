use sable_store::testing::all_backends;
use sable_store::users::{self, LoginError};

use crate::helpers::{admin, sales_user};

#[tokio::test]
async fn login_tokens_and_deactivation() {
    for db in all_backends().await {
        let store = db.store().await;
        let generated = users::ensure_admin(&store, None)
            .await
            .unwrap()
            .expect("a generated password");
        assert!(
            users::ensure_admin(&store, None).await.unwrap().is_none(),
            "only on first start"
        );
        assert!(users::login(&store, "admin", &generated).await.unwrap().is_ok());
        assert!(
            users::login(&store, "ADMIN ", &generated).await.unwrap().is_ok(),
            "user names are case-insensitive"
        );
        let me = sales_user(&store, "chenjing").await;
        assert_eq!(
            users::login(&store, "chenjing", "wrong").await.unwrap(),
            Err(LoginError::Invalid)
        );
        assert_eq!(
            users::login(&store, "nobody", "wrong").await.unwrap(),
            Err(LoginError::Invalid)
        );
        for _ in 0..5 {
            let _ = users::login(&store, "chenjing", "wrong").await.unwrap();
        }
        assert!(matches!(
            users::login(&store, "chenjing", "correct horse").await.unwrap(),
            Err(LoginError::Locked { .. })
        ));
        users::set_password(&store, &admin(), "chenjing", "new password")
            .await
            .unwrap();
        assert!(users::login(&store, "chenjing", "new password").await.unwrap().is_ok());

        let (id, token) = users::create_token(&store, me.user_id(), "cli", "api", None)
            .await
            .unwrap();
        assert_eq!(
            users::authenticate_token(&store, &token).await.unwrap().unwrap().id,
            me.user_id()
        );
        assert!(
            users::authenticate_token(&store, "sable_forged")
                .await
                .unwrap()
                .is_none()
        );
        let listed = users::list_tokens(&store, Some(me.user_id())).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert!(
            !format!("{listed:?}").contains(&token),
            "the token is never stored or listed"
        );
        users::revoke_token(&store, &admin(), id).await.unwrap();
        assert!(users::authenticate_token(&store, &token).await.unwrap().is_none());

        let (_, token2) = users::create_token(&store, me.user_id(), "cli2", "api", None)
            .await
            .unwrap();
        users::deactivate(&store, &admin(), "chenjing").await.unwrap();
        assert_eq!(
            users::login(&store, "chenjing", "new password").await.unwrap(),
            Err(LoginError::Inactive)
        );
        assert!(users::authenticate_token(&store, &token2).await.unwrap().is_none());
        assert!(
            users::deactivate(&store, &me, "admin").await.is_err(),
            "non-admins cannot deactivate"
        );
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_administrator_is_created_even_when_other_users_exist() {
    for db in all_backends().await {
        let store = db.store().await;
        // e.g. `sable demo` ran before the first `sable serve`
        sales_user(&store, "demo.user").await;
        let password = users::ensure_admin(&store, Some("first-admin-pw")).await.unwrap();
        assert!(password.is_none(), "the given password is used, not generated");
        let admin = users::login(&store, "admin", "first-admin-pw")
            .await
            .unwrap()
            .expect("admin can log in");
        assert!(admin.is_admin, "{}", db.backend);
        assert!(users::ensure_admin(&store, None).await.unwrap().is_none());
        store.close().await;
        db.cleanup().await;
    }
}
