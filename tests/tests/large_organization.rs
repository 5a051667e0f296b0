//! An organization larger than SQLite's limit on bound variables (32,766)
//! still lists its members: the benchmark found the member list building
//! one variable per member and failing with a 500 past that size.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use ls_integration::http::Client;
use ls_integration::server::{OWNER_EMAIL, OWNER_TOKEN, TestApp};

const MEMBERS: usize = 40_000;

#[test]
fn forty_thousand_members_list_page_by_page() {
    let t = TestApp::start();
    t.block_on(ls_integration::seed::members(
        t.services.store().connection(),
        MEMBERS,
        OWNER_EMAIL,
        &"ab".repeat(32),
    ));
    let mut owner = Client::with_token(t.addr, OWNER_TOKEN);
    let org = owner.get("/api/current-user/whoami").json()["active_organization"]
        .as_i64()
        .unwrap();
    let last = (MEMBERS + 1).div_ceil(100);
    for page in [1, last] {
        let r = owner.get(&format!(
            "/api/organizations/{org}/memberships?page={page}&page_size=100"
        ));
        assert_eq!(r.status, 200, "page {page}: {}", r.body);
        let v = r.json();
        assert_eq!(v["count"], MEMBERS + 1);
        let n = v["results"].as_array().unwrap().len();
        assert_eq!(
            n,
            if page == 1 {
                100
            } else {
                (MEMBERS + 1) - 100 * (last - 1)
            }
        );
    }
    let r = owner.get(&format!(
        "/api/organizations/{org}/memberships/{}",
        MEMBERS / 2
    ));
    assert_eq!(r.status, 200, "{}", r.body);
}
