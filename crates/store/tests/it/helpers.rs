use sable_store::users::{NewUser, create_user};
use sable_store::{Actor, Store};
use serde_json::{Map, Value};

pub fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("object")
}

pub fn admin() -> Actor {
    Actor::unrestricted_for_system_jobs()
}

/// Adds a non-admin user and returns their actor.
pub async fn sales_user(store: &Store, name: &str) -> Actor {
    let u = create_user(
        store,
        &admin(),
        &NewUser {
            user_name: name.into(),
            password: "correct horse".into(),
            last_name: name.into(),
            ..NewUser::default()
        },
    )
    .await
    .expect("create user");
    u.actor()
}
