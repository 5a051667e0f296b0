//! Member pages and lists, read through the order indexes the triggers keep.

use super::*;

/// Membership pages are ordered by username then id through the order
/// index; a change made through another store on the same database
/// (another instance, `ls-admin`) shows on the very next page.
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
        let Some(size) = size else {
            let mut listing = svc.member_listing(owner, org, true).await.unwrap();
            let mut names = Vec::new();
            while let Some(rows) = svc.next_members(&mut listing).await.unwrap() {
                names.extend(rows.into_iter().map(|(_, u)| u.username));
            }
            return (listing.count, names);
        };
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
        a.membership_page(&owner.user, org, 4, 2).await,
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

    db.drop_pg().await;
}

/// The count and the order key are kept by triggers, so a change made by
/// hand in SQL (another program, an operator) shows too: rows inserted,
/// soft-removed, deleted, and a username changed.
pub(super) async fn the_triggers_keep_counts_and_order_for_changes_by_hand(db: Db) {
    let svc = services(&db, Mode::Open).await;
    let (owner, _) = svc
        .sign_up(signup("owner@example.com", "owner-password-1", None))
        .await
        .unwrap();
    let org = owner.organization_id;
    let mut ids = Vec::new();
    for name in ["bea", "cid", "dan"] {
        let (m, _) = svc
            .sign_up(signup(
                &format!("{name}@example.com"),
                "member-password-1",
                None,
            ))
            .await
            .unwrap();
        ids.push(m.user.id);
    }
    let conn = svc.store().connection();
    let exec = |sql: String| async move {
        conn.execute_unprepared(&sql).await.unwrap();
    };
    let usernames = |p: app::MemberPage| {
        (
            p.count,
            p.members
                .into_iter()
                .map(|(_, u)| u.username)
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        usernames(svc.membership_page(&owner.user, org, 1, 100).await.unwrap()).0,
        4
    );
    exec(format!(
        "UPDATE memberships SET removed_at = 1 WHERE user_id = {}",
        ids[0]
    ))
    .await;
    exec(format!(
        "DELETE FROM memberships WHERE user_id = {}",
        ids[1]
    ))
    .await;
    exec(format!(
        "UPDATE users SET username = 'aaa' WHERE id = {}",
        ids[2]
    ))
    .await;
    assert_eq!(
        usernames(svc.membership_page(&owner.user, org, 1, 100).await.unwrap()),
        (2, vec!["aaa".into(), "owner".into()])
    );
    // Back again, by hand: the soft-removed one returns.
    exec(format!(
        "UPDATE memberships SET removed_at = NULL WHERE user_id = {}",
        ids[0]
    ))
    .await;
    exec(format!(
        "INSERT INTO memberships (user_id, organization_id, role, created_at) VALUES ({}, {org}, 'member', 0)",
        ids[1]
    ))
    .await;
    assert_eq!(
        usernames(svc.membership_page(&owner.user, org, 1, 100).await.unwrap()),
        (
            4,
            vec!["aaa".into(), "bea".into(), "cid".into(), "owner".into()]
        )
    );
    // The listing by id agrees.
    let mut listing = svc.member_listing(&owner.user, org, false).await.unwrap();
    let mut listed = Vec::new();
    while let Some(chunk) = svc.next_member_ids(&mut listing).await.unwrap() {
        listed.extend(chunk);
    }
    let mut expected = vec![owner.user.id, ids[0], ids[1], ids[2]];
    expected.sort();
    assert_eq!(listed, expected);
    db.drop_pg().await;
}

/// Every page of every size, whether read from the start or the end of the
/// order index, is its slice of the whole ordered listing.
pub(super) async fn every_page_is_its_slice_of_the_listing(db: Db) {
    let svc = services(&db, Mode::Open).await;
    let (owner, _) = svc
        .sign_up(signup("owner@example.com", "owner-password-1", None))
        .await
        .unwrap();
    let org = owner.organization_id;
    for n in 0..12 {
        let name = format!("m{:02}", (n * 7) % 12);
        svc.sign_up(signup(
            &format!("{name}@example.com"),
            "member-password-1",
            None,
        ))
        .await
        .unwrap();
    }
    let mut listing = svc.member_listing(&owner.user, org, true).await.unwrap();
    let mut all = Vec::new();
    while let Some(rows) = svc.next_members(&mut listing).await.unwrap() {
        all.extend(rows.into_iter().map(|(_, u)| u.username));
    }
    assert_eq!(all.len(), 13);
    for size in 1..=14 {
        for page in 1..=all.len().div_ceil(size) {
            let got = svc
                .membership_page(&owner.user, org, page, size)
                .await
                .unwrap();
            let names: Vec<String> = got.members.into_iter().map(|(_, u)| u.username).collect();
            let start = (page - 1) * size;
            let end = (start + size).min(all.len());
            assert_eq!(names, all[start..end], "page {page} of size {size}");
        }
    }
    db.drop_pg().await;
}

/// A whole list reads one snapshot: a member removed and another renamed
/// by another store while it is read change nothing in it, and its count is
/// the number of its rows; the next list sees both changes.
pub(super) async fn a_whole_list_is_one_snapshot(db: Db) {
    let a = services(&db, Mode::Open).await;
    let b = services(&db, Mode::Open).await;
    let (owner, _) = a
        .sign_up(signup("owner@example.com", "owner-password-1", None))
        .await
        .unwrap();
    let org = owner.organization_id;
    let mut ids = Vec::new();
    for name in ["bea", "cid", "dan"] {
        let (m, _) = a
            .sign_up(signup(
                &format!("{name}@example.com"),
                "member-password-1",
                None,
            ))
            .await
            .unwrap();
        ids.push(m.user.id);
    }
    let read = |mut listing: app::ListingOf<SeaStore>| {
        let a = &a;
        async move {
            let mut names = Vec::new();
            while let Some(rows) = a.next_members(&mut listing).await.unwrap() {
                names.extend(rows.into_iter().map(|(_, u)| u.username));
            }
            (listing.count, names)
        }
    };
    let before = a.member_listing(&owner.user, org, true).await.unwrap();
    b.remove_member(&owner.user, org, ids[0]).await.unwrap();
    let owner_caller = b.caller(owner.user.clone()).await.unwrap();
    b.update_user(
        &owner_caller,
        ids[1],
        app::UserPatch {
            username: Some("zoe".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        read(before).await,
        (
            4,
            vec!["bea".into(), "cid".into(), "dan".into(), "owner".into()]
        )
    );
    let after = a.member_listing(&owner.user, org, true).await.unwrap();
    assert_eq!(
        read(after).await,
        (3, vec!["dan".into(), "owner".into(), "zoe".into()])
    );
    db.drop_pg().await;
}
