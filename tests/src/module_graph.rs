//! Architecture rule: inside each crate, modules do not import each other
//! in a loop, and no source file grows past [`MAX_LINES`].
//!
//! The graph is read from the source with `syn`: every `crate::`, `super::`
//! and `self::` path (in `use` items, types and expressions) is an edge from
//! the module it is written in to the module it names, following the
//! re-exports (`pub use`) on the way. Code under `#[cfg(test)]` is left out:
//! tests may use what they test from anywhere. A parent naming its child,
//! or a child its parent, is how Rust modules are built, not a loop; what
//! must not loop are the siblings: for each module, its children, each with
//! everything below it, form a graph that has to be acyclic.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// The longest a source file under `crates/` or `bins/` may be.
pub const MAX_LINES: usize = 700;

/// A module, by its path from the crate root (`[]` is the root).
type ModPath = Vec<String>;

#[derive(Debug, Default)]
struct Module {
    /// Absolute paths (from the crate root) this module's code names.
    refs: Vec<ModPath>,
    /// Imports and re-exports: name here → the absolute path it stands for.
    reexports: HashMap<String, ModPath>,
    children: Vec<String>,
}

/// One crate's modules, read from its root file.
#[derive(Debug, Default)]
pub struct Crate {
    name: String,
    modules: BTreeMap<ModPath, Module>,
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Meta>()
                .is_ok_and(|m| m.path().is_ident("test"))
    })
}

/// Every path a `use` tree brings in, as segments.
fn use_paths(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_paths(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let mut full = prefix.clone();
            full.push(n.ident.to_string());
            out.push((full, n.ident.to_string()));
        }
        syn::UseTree::Rename(r) => {
            let mut full = prefix.clone();
            full.push(r.ident.to_string());
            out.push((full, r.rename.to_string()));
        }
        syn::UseTree::Glob(_) => out.push((prefix.clone(), "*".into())),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                use_paths(t, prefix, out);
            }
        }
    }
}

/// Collects the paths of one module's code (not of its `cfg(test)` items,
/// nor of the inline modules in it, which are modules of their own).
struct Collector<'a> {
    here: &'a ModPath,
    refs: Vec<ModPath>,
}

impl Collector<'_> {
    /// `segments` made absolute, when they start with `crate`, `super` or `self`.
    fn absolute(&self, segments: &[String]) -> Option<ModPath> {
        let mut base = self.here.clone();
        let mut rest = segments;
        match rest.first().map(String::as_str) {
            Some("crate") => {
                base.clear();
                rest = &rest[1..];
            }
            Some("self") => rest = &rest[1..],
            Some("super") => {
                while rest.first().map(String::as_str) == Some("super") {
                    base.pop()?;
                    rest = &rest[1..];
                }
            }
            _ => return None,
        }
        base.extend(rest.iter().cloned());
        Some(base)
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs: &[syn::Attribute] = match item {
            syn::Item::Fn(i) => &i.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Mod(i) => &i.attrs,
            syn::Item::Use(i) => &i.attrs,
            syn::Item::Struct(i) => &i.attrs,
            syn::Item::Enum(i) => &i.attrs,
            syn::Item::Const(i) => &i.attrs,
            syn::Item::Static(i) => &i.attrs,
            syn::Item::Trait(i) => &i.attrs,
            syn::Item::Type(i) => &i.attrs,
            syn::Item::Macro(i) => &i.attrs,
            _ => &[],
        };
        if is_cfg_test(attrs) || matches!(item, syn::Item::Mod(_)) {
            return;
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if !is_cfg_test(&f.attrs) {
            syn::visit::visit_impl_item_fn(self, f);
        }
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        let mut found = Vec::new();
        use_paths(&u.tree, &mut Vec::new(), &mut found);
        for (segments, _) in found {
            if let Some(p) = self.absolute(&segments) {
                self.refs.push(p);
            }
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if let Some(p) = self.absolute(&segments) {
            self.refs.push(p);
        }
        syn::visit::visit_path(self, path);
    }
}

impl Crate {
    /// Reads the crate whose root file is `root` (`src/lib.rs` or `src/main.rs`).
    pub fn read(name: &str, root: &Path) -> Self {
        let mut c = Crate {
            name: name.to_owned(),
            modules: BTreeMap::new(),
        };
        let dir = root.parent().expect("src/").to_owned();
        c.read_file(Vec::new(), root, dir);
        c
    }

    fn read_file(&mut self, here: ModPath, file: &Path, child_dir: PathBuf) {
        let text =
            std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        self.read_items(here, &ast.items, Some(child_dir));
    }

    /// `child_dir`: where this module's `mod x;` files are (`None` inside an
    /// inline module, whose files are not used in this workspace).
    fn read_items(&mut self, here: ModPath, items: &[syn::Item], child_dir: Option<PathBuf>) {
        let mut collector = Collector {
            here: &here,
            refs: Vec::new(),
        };
        for item in items {
            collector.visit_item(item);
        }
        let mut module = Module {
            refs: collector.refs,
            ..Module::default()
        };
        for item in items {
            match item {
                // Private imports too: a child may name them through `super::`.
                syn::Item::Use(u) if !is_cfg_test(&u.attrs) => {
                    let mut found = Vec::new();
                    use_paths(&u.tree, &mut Vec::new(), &mut found);
                    let c = Collector {
                        here: &here,
                        refs: Vec::new(),
                    };
                    for (segments, name) in found {
                        let target = c.absolute(&segments).unwrap_or_else(|| {
                            // A path into a child module: `pub use store::X`.
                            let mut p = here.clone();
                            p.extend(segments.iter().cloned());
                            p
                        });
                        if name != "*" {
                            module.reexports.insert(name, target);
                        }
                    }
                }
                syn::Item::Mod(m) if !is_cfg_test(&m.attrs) => {
                    let name = m.ident.to_string();
                    module.children.push(name.clone());
                    let mut path = here.clone();
                    path.push(name.clone());
                    match (&m.content, &child_dir) {
                        (Some((_, inner)), _) => self.read_items(path, inner, None),
                        (None, Some(dir)) => {
                            let flat = dir.join(format!("{name}.rs"));
                            let (file, below) = if flat.exists() {
                                (flat, dir.join(&name))
                            } else {
                                (dir.join(&name).join("mod.rs"), dir.join(&name))
                            };
                            self.read_file(path, &file, below);
                        }
                        (None, None) => {}
                    }
                }
                _ => {}
            }
        }
        self.modules.insert(here, module);
    }

    /// The module an absolute path names: its longest prefix that is a
    /// module, through re-exports.
    fn resolve(&self, path: &[String], depth: usize) -> Option<ModPath> {
        let mut at: ModPath = Vec::new();
        for (i, seg) in path.iter().enumerate() {
            let mut next = at.clone();
            next.push(seg.clone());
            if self.modules.contains_key(&next) {
                at = next;
                continue;
            }
            let module = self.modules.get(&at)?;
            if let Some(target) = module.reexports.get(seg)
                && depth < 8
            {
                let mut full = target.clone();
                full.extend(path[i + 1..].iter().cloned());
                return self.resolve(&full, depth + 1);
            }
            return Some(at);
        }
        Some(at)
    }

    /// For each module, the edges between its children.
    fn sibling_edges(&self) -> BTreeMap<ModPath, BTreeSet<(String, String)>> {
        let mut out: BTreeMap<ModPath, BTreeSet<(String, String)>> = BTreeMap::new();
        for (from, module) in &self.modules {
            for r in &module.refs {
                let Some(to) = self.resolve(r, 0) else {
                    continue;
                };
                let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
                if common == from.len() || common == to.len() {
                    continue; // the same module, an ancestor or a descendant
                }
                out.entry(from[..common].to_vec())
                    .or_default()
                    .insert((from[common].clone(), to[common].clone()));
            }
        }
        out
    }

    /// The import loops among sibling modules, as `crate::parent: a -> b -> a`.
    pub fn loops(&self) -> Vec<String> {
        let mut found = Vec::new();
        for (parent, edges) in self.sibling_edges() {
            let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for (a, b) in &edges {
                graph.entry(a).or_default().push(b);
            }
            if let Some(cycle) = find_cycle(&graph) {
                let mut at = vec![self.name.clone()];
                at.extend(parent.iter().cloned());
                found.push(format!("{}: {}", at.join("::"), cycle.join(" -> ")));
            }
        }
        found
    }

    /// How many modules were read (so a test knows the rule looked at something).
    pub fn module_count(&self) -> usize {
        self.modules.len()
    }
}

/// A cycle in `graph`, first node repeated at the end; `None` when acyclic.
fn find_cycle<'a>(graph: &BTreeMap<&'a str, Vec<&'a str>>) -> Option<Vec<&'a str>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit<'a>(
        n: &'a str,
        graph: &BTreeMap<&'a str, Vec<&'a str>>,
        marks: &mut HashMap<&'a str, Mark>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<&'a str>> {
        match marks.get(n) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = stack.iter().position(|s| *s == n)?;
                let mut cycle = stack[start..].to_vec();
                cycle.push(n);
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(n, Mark::Open);
        stack.push(n);
        for next in graph.get(n).into_iter().flatten() {
            if let Some(c) = visit(next, graph, marks, stack) {
                return Some(c);
            }
        }
        stack.pop();
        marks.insert(n, Mark::Done);
        None
    }
    let mut marks = HashMap::new();
    for n in graph.keys() {
        if let Some(c) = visit(n, graph, &mut marks, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

/// Every library and binary crate of the workspace: (name, root file).
pub fn workspace_crates(root: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for dir in ["crates", "bins"] {
        let mut entries: Vec<_> = std::fs::read_dir(root.join(dir))
            .expect("read crates/ or bins/")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for path in entries {
            for file in ["src/lib.rs", "src/main.rs"] {
                if path.join(file).exists() {
                    let name = path
                        .file_name()
                        .expect("name")
                        .to_string_lossy()
                        .into_owned();
                    out.push((name, path.join(file)));
                }
            }
        }
    }
    out
}

/// Every `.rs` file under `crates/` and `bins/` longer than [`MAX_LINES`],
/// with its length.
pub fn long_files(root: &Path) -> Vec<(PathBuf, usize)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, usize)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let lines = std::fs::read_to_string(&path).map_or(0, |t| t.lines().count());
                if lines > MAX_LINES {
                    out.push((path, lines));
                }
            }
        }
    }
    let mut out = Vec::new();
    for dir in ["crates", "bins"] {
        walk(&root.join(dir), &mut out);
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A crate written out in a temporary directory.
    fn crate_of(files: &[(&str, &str)]) -> (tempfile::TempDir, Crate) {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let c = Crate::read("demo", &dir.path().join("src/lib.rs"));
        (dir, c)
    }

    #[test]
    fn two_siblings_importing_each_other_are_a_loop() {
        let (_d, c) = crate_of(&[
            ("src/lib.rs", "mod a;\nmod b;\n"),
            ("src/a.rs", "use crate::b::B;\npub struct A;\n"),
            (
                "src/b.rs",
                "pub struct B;\nfn f() -> super::a::A { todo!() }\n",
            ),
        ]);
        assert_eq!(c.module_count(), 3);
        assert_eq!(c.loops(), ["demo: a -> b -> a"]);
    }

    #[test]
    fn a_loop_through_a_re_export_and_below_a_module_is_found() {
        let (_d, c) = crate_of(&[
            ("src/lib.rs", "mod db;\npub use db::Store;\n"),
            (
                "src/db/mod.rs",
                "mod cache;\nmod store;\npub use store::Store;\n",
            ),
            (
                "src/db/store.rs",
                "pub struct Store(super::cache::Cache);\n",
            ),
            (
                "src/db/cache/mod.rs",
                "mod tokens;\npub use tokens::Cache;\n",
            ),
            (
                "src/db/cache/tokens.rs",
                "pub struct Cache;\nfn f(_: &crate::Store) {}\n",
            ),
        ]);
        assert_eq!(c.loops(), ["demo::db: cache -> store -> cache"]);
    }

    #[test]
    fn parents_children_and_test_code_make_no_loop() {
        let (_d, c) = crate_of(&[
            (
                "src/lib.rs",
                "mod a;\nmod b;\npub use a::A;\nfn f(_: b::B) {}\n",
            ),
            (
                "src/a.rs",
                "pub struct A;\nfn f(_: crate::b::B) {}\n#[cfg(test)]\nmod tests { use crate::b::uses_a; }\n",
            ),
            (
                "src/b.rs",
                "pub struct B;\nfn g(_: &crate::Root) {}\n#[cfg(test)]\nfn h(_: crate::A) {}\n",
            ),
        ]);
        assert!(c.loops().is_empty(), "{:?}", c.loops());
    }
}
