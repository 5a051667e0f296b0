//! Architecture rule: the domain crates stay free of I/O. Checked on the
//! resolved dependency graph (`cargo metadata`), normal and build edges,
//! transitively.

use std::collections::{BTreeSet, HashMap, VecDeque};

use serde_json::Value;

/// The crates that must do no I/O.
pub const DOMAIN_CRATES: &[&str] = &["accounts", "orgs", "invites", "signup-policy"];

/// What they may never depend on, directly or not: runtimes, HTTP, ORMs and
/// drivers, config loaders, and random generators (randomness is a parameter).
pub const FORBIDDEN: &[&str] = &[
    "tokio",
    "hyper",
    "axum",
    "sea-orm",
    "sqlx",
    "sqlx-core",
    "sqlx-sqlite",
    "sqlx-postgres",
    "libsqlite3-sys",
    "figment",
    "getrandom",
    "rand",
    "rand_core",
];

/// For each domain crate, the dependency chains that reach a forbidden
/// crate, as `a -> b -> tokio`. Empty when the rule holds.
pub fn violations(metadata: &Value) -> Vec<String> {
    let packages: HashMap<&str, &str> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    let mut edges: HashMap<&str, Vec<&str>> = HashMap::new();
    for node in metadata["resolve"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(id) = node["id"].as_str() else {
            continue;
        };
        let deps = node["deps"].as_array().into_iter().flatten().filter(|d| {
            d["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].as_str() != Some("dev"))
        });
        edges
            .entry(id)
            .or_default()
            .extend(deps.filter_map(|d| d["pkg"].as_str()));
    }
    let mut out = BTreeSet::new();
    for domain in DOMAIN_CRATES {
        let Some((&root, _)) = packages.iter().find(|(_, name)| *name == domain) else {
            continue;
        };
        // Breadth-first, remembering the parent to print the chain.
        let mut parent: HashMap<&str, &str> = HashMap::new();
        let mut queue = VecDeque::from([root]);
        while let Some(id) = queue.pop_front() {
            for &dep in edges.get(id).map(Vec::as_slice).unwrap_or_default() {
                if dep == root || parent.contains_key(dep) {
                    continue;
                }
                parent.insert(dep, id);
                let name = packages.get(dep).copied().unwrap_or(dep);
                if FORBIDDEN.contains(&name) {
                    let mut chain = vec![name];
                    let mut at = id;
                    while at != root {
                        chain.push(packages.get(at).copied().unwrap_or(at));
                        at = parent[at];
                    }
                    chain.push(domain);
                    chain.reverse();
                    out.insert(chain.join(" -> "));
                } else {
                    queue.push_back(dep);
                }
            }
        }
    }
    out.into_iter().collect()
}

/// The domain crates' dependency graphs as each resolves **on its own**
/// (`cargo tree -p <crate>`: the features a service embedding it gets), in
/// the shape [`violations`] reads from `cargo metadata`. The workspace's
/// `cargo metadata` unifies features across every member: there, since the
/// OpenID Connect client came into `infra`, `p256` turns on
/// `crypto-common`'s `getrandom` feature for every user of `crypto-common`,
/// the domain crates' `hmac` included, though no domain crate asks for it.
pub fn domain_metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut packages = BTreeSet::new();
    let mut edges: BTreeSet<(String, String)> = BTreeSet::new();
    for domain in DOMAIN_CRATES {
        let out = std::process::Command::new(&cargo)
            .args([
                "tree",
                "-p",
                domain,
                "-e",
                "normal,build",
                "--prefix",
                "depth",
                "-f",
                "{p}",
            ])
            .current_dir(&root)
            .output()
            .expect("run cargo tree");
        assert!(
            out.status.success(),
            "cargo tree -p {domain} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Each line: the depth, then `name vX.Y.Z [(path)] [(*)]`.
        let mut path: Vec<String> = Vec::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let digits = line.chars().take_while(char::is_ascii_digit).count();
            let Ok(depth) = line[..digits].parse::<usize>() else {
                continue;
            };
            let mut words = line[digits..].split_whitespace();
            let (Some(name), Some(version)) = (words.next(), words.next()) else {
                continue;
            };
            let id = format!("{name} {version}");
            packages.insert((id.clone(), name.to_owned()));
            path.truncate(depth);
            if let Some(parent) = path.last() {
                edges.insert((parent.clone(), id.clone()));
            }
            path.push(id);
        }
    }
    let nodes: Vec<Value> = packages
        .iter()
        .map(|(id, _)| {
            let deps: Vec<Value> = edges
                .iter()
                .filter(|(from, _)| from == id)
                .map(|(_, to)| serde_json::json!({"pkg": to, "dep_kinds": [{"kind": null}]}))
                .collect();
            serde_json::json!({"id": id, "deps": deps})
        })
        .collect();
    serde_json::json!({
        "packages": packages.iter().map(|(id, name)| serde_json::json!({"id": id, "name": name})).collect::<Vec<_>>(),
        "resolve": {"nodes": nodes},
    })
}

/// `cargo metadata` of this workspace.
pub fn workspace_metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1"])
        .current_dir(root)
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata JSON")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pkg(name: &str) -> Value {
        json!({"id": format!("{name}-id"), "name": name})
    }

    fn node(name: &str, deps: &[(&str, Option<&str>)]) -> Value {
        json!({
            "id": format!("{name}-id"),
            "deps": deps.iter().map(|(d, kind)| json!({
                "pkg": format!("{d}-id"),
                "dep_kinds": [{"kind": kind}],
            })).collect::<Vec<_>>(),
        })
    }

    /// The rule catches a forbidden crate, even several hops away, and says how it got there.
    #[test]
    fn a_transitive_runtime_dependency_is_caught() {
        let meta = json!({
            "packages": [pkg("accounts"), pkg("helper"), pkg("tokio"), pkg("orgs"), pkg("proptest")],
            "resolve": {"nodes": [
                node("accounts", &[("helper", None)]),
                node("helper", &[("tokio", None)]),
                node("orgs", &[("proptest", Some("dev"))]),
                node("tokio", &[]),
                node("proptest", &[]),
            ]},
        });
        assert_eq!(
            violations(&meta),
            vec!["accounts -> helper -> tokio".to_owned()]
        );
    }

    /// Dev-dependencies (test helpers) do not count.
    #[test]
    fn dev_dependencies_are_allowed() {
        let meta = json!({
            "packages": [pkg("invites"), pkg("tokio")],
            "resolve": {"nodes": [node("invites", &[("tokio", Some("dev"))]), node("tokio", &[])]},
        });
        assert!(violations(&meta).is_empty());
    }

    #[test]
    fn build_dependencies_count() {
        let meta = json!({
            "packages": [pkg("signup-policy"), pkg("figment")],
            "resolve": {"nodes": [node("signup-policy", &[("figment", Some("build"))]), node("figment", &[])]},
        });
        assert_eq!(
            violations(&meta),
            vec!["signup-policy -> figment".to_owned()]
        );
    }
}
