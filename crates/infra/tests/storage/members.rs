//! Member pages and the member order kept in memory.

use super::*;

/// Membership pages are ordered by username then id from an order the store
/// keeps in memory; a change made through another store on the same
/// database (another instance, `ls-admin`) shows on the very next page.
pub(super) async fn member_pages_follow_changes_made_elsewhere(db: Db) {
    let a = services(&db, Mode::Open).await;
    let b = services(&db, Mode::Open).await;
    let (owner, _) = a
        .sign_up(signup("zed@example.com", "owner-password-1", None))
        .await
        .unwrap();
    let org = owner.organization_id;
    let mut ids = std::collections::HashMap::new();
    for name in ["carol", "alice", "bob", "dave"] {
        let (m, _) = a
            .sign_up(signup(
                &format!("{name}@example.com"),
                "member-password-1",
                None,
            ))
            .await
            .unwrap();
        ids.insert(name, m.user.id);
    }
    async fn page_of(
        svc: &Services<SeaStore>,
        owner: &app::UserRecord,
        org: i64,
        page: usize,
        size: Option<usize>,
    ) -> (usize, Vec<String>) {
        let p = svc.membership_page(owner, org, page, size).await.unwrap();
        (
            p.count,
            p.members.iter().map(|(_, u)| u.username.clone()).collect(),
        )
    }
    let names = |svc, page, size| page_of(svc, &owner.user, org, page, size);
    assert_eq!(
        names(&a, 1, Some(2)).await,
        (5, vec!["alice".into(), "bob".into()])
    );
    assert_eq!(names(&a, 3, Some(2)).await, (5, vec!["zed".into()]));
    assert!(matches!(
        a.membership_page(&owner.user, org, 4, Some(2)).await,
        Err(AppError::InvalidPage)
    ));

    // A new member through the other store.
    b.sign_up(signup("aaron@example.com", "member-password-1", None))
        .await
        .unwrap();
    assert_eq!(
        names(&a, 1, Some(2)).await,
        (6, vec!["aaron".into(), "alice".into()])
    );

    // A rename through the other store moves the row.
    let owner_caller = b.caller(owner.user.clone()).await.unwrap();
    b.update_user(
        &owner_caller,
        ids["alice"],
        app::UserPatch {
            username: Some("yolanda".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (_, all) = names(&a, 1, None).await;
    assert_eq!(all, ["aaron", "bob", "carol", "dave", "yolanda", "zed"]);
    assert_eq!(
        names(&a, 2, Some(4)).await,
        (6, vec!["yolanda".into(), "zed".into()])
    );

    // A removed member and a deleted account leave the pages at once.
    b.remove_member(&owner.user, org, ids["bob"]).await.unwrap();
    assert_eq!(
        names(&a, 1, Some(3)).await,
        (5, vec!["aaron".into(), "carol".into(), "dave".into()])
    );
    b.delete_user(&owner_caller, ids["carol"]).await.unwrap();
    assert_eq!(
        names(&a, 1, Some(3)).await,
        (4, vec!["aaron".into(), "dave".into(), "yolanda".into()])
    );
    // And the list everyone sees agrees with a fresh store's.
    let c = services(&db, Mode::Open).await;
    assert_eq!(names(&a, 1, Some(100)).await, names(&c, 1, Some(100)).await);

    // Pages asked for together after a change read the order once.
    b.sign_up(signup("erin@example.com", "member-password-1", None))
        .await
        .unwrap();
    let before = a.store().member_orders_read();
    let a = Arc::new(a);
    let pages: Vec<_> = (0..8)
        .map(|_| {
            let (a, owner) = (Arc::clone(&a), owner.user.clone());
            tokio::spawn(async move { a.membership_page(&owner, org, 1, Some(2)).await })
        })
        .collect();
    for p in pages {
        assert_eq!(p.await.unwrap().unwrap().count, 5);
    }
    assert_eq!(a.store().member_orders_read(), before + 1);
    db.drop_pg().await;
}

/// A page whose kept member order names a row that is gone, at the same
/// `members_version` (a change the triggers did not see, made here by
/// hand), is read again from the database instead of failing with the
/// same stale order three times (409).
pub(super) async fn a_stale_member_order_is_read_again(db: Db) {
    let svc = services(&db, Mode::Open).await;
    let (owner, _) = svc
        .sign_up(signup("owner@example.com", "owner-password-1", None))
        .await
        .unwrap();
    let (gone, _) = svc
        .sign_up(signup("aaron@example.com", "member-password-1", None))
        .await
        .unwrap();
    let org = owner.organization_id;
    let page = svc
        .membership_page(&owner.user, org, 1, Some(10))
        .await
        .unwrap();
    assert_eq!(page.count, 2);
    let conn = svc.store().connection();
    let exec = |sql: String| async move {
        conn.execute_unprepared(&sql).await.unwrap();
    };
    let version = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            format!("SELECT members_version FROM organizations WHERE id = {org}"),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap();
    exec(format!(
        "DELETE FROM memberships WHERE user_id = {}",
        gone.user.id
    ))
    .await;
    exec(format!(
        "UPDATE organizations SET members_version = {version} WHERE id = {org}"
    ))
    .await;
    let page = svc
        .membership_page(&owner.user, org, 1, Some(10))
        .await
        .unwrap();
    assert_eq!(page.count, 1);
    assert_eq!(page.members[0].1.id, owner.user.id);
    db.drop_pg().await;
}
