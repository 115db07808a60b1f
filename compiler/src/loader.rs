//! The import loader: reads the main file and everything it `use`s, parses each once,
//! and merges the declarations into one flat [`SourceProgram`].
//!
//! - Paths in `use` are relative to the importing file's directory; imports are
//!   transitive, and a file reached twice (a diamond) contributes its declarations once.
//! - Imported declarations come before the importing file's own, in `use` order.
//! - `use "f.ilo" [a b]` keeps the named declarations of that file plus the functions
//!   of that file they use (transitively); record types are always kept, since the
//!   named functions may need them.
//! - Errors from every file are collected; the program is `None` if there are any.
//!   ILO-P017: file not found, or `use` in inline code. ILO-P018: circular import.
//!   ILO-P019: a name in `[...]` that the imported file does not declare.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::ast::{Decl, Expr, ExprKind, SourceProgram, UseDecl};
use crate::diag::Diagnostic;
use crate::parser::parse;
use crate::span::{SourceMap, Span};
use crate::walk::{walk_block, Visitor};

/// Stable diagnostic codes of the loader (numbered with the parser's, as upstream).
pub mod codes {
    /// A source or imported file that cannot be found or read, or `use` in inline code.
    pub const IMPORT_UNREADABLE: &str = "ILO-P017";
    /// A file that imports itself, directly or through others.
    pub const CIRCULAR_IMPORT: &str = "ILO-P018";
    /// `use "f.ilo" [name]` naming something `f.ilo` does not declare.
    pub const NOT_EXPORTED: &str = "ILO-P019";
}

pub struct Loaded {
    pub program: Option<SourceProgram>,
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
}

/// Load a program from a file, following its imports.
pub fn load_file(path: &Path) -> Loaded {
    let mut loader = Loader::default();
    let root = match std::fs::read_to_string(path) {
        Ok(text) => {
            let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            Some(loader.add_file(key, path.display().to_string(), text))
        }
        Err(e) => {
            // Register the name so the diagnostic's span points into the source map.
            let file = loader.sources.add(path.display().to_string(), "");
            loader.diags.push(Diagnostic::error(
                codes::IMPORT_UNREADABLE,
                format!("cannot read `{}`: {e}", path.display()),
                Span::new(file, 0, 0),
            ));
            None
        }
    };
    loader.finish(root)
}

/// Load a program given as source text; it has no directory, so `use` is an error.
pub fn load_inline(code: &str) -> Loaded {
    let mut loader = Loader::default();
    let file = loader.sources.add("<inline>", code);
    let (decls, diags) = parse(code, file, &mut loader.next_id);
    loader.diags.extend(diags);
    for decl in &decls {
        if let Decl::Use(u) = decl {
            loader.diags.push(
                Diagnostic::error(
                    codes::IMPORT_UNREADABLE,
                    format!("cannot import `{}` from inline code", u.path),
                    u.span,
                )
                .with_note(
                    "`use` resolves paths against the importing file; put the program in a file",
                ),
            );
        }
    }
    loader.files.push(Parsed {
        key: PathBuf::new(),
        decls,
        imports: Vec::new(),
    });
    loader.finish(Some(0))
}

/// One parsed file.
struct Parsed {
    key: PathBuf,
    decls: Vec<Decl>,
    /// For each `use` in the file: the imported file's index and the scoped names.
    imports: Vec<(usize, Option<Vec<String>>)>,
}

#[derive(Default)]
struct Loader {
    sources: SourceMap,
    files: Vec<Parsed>,
    diags: Vec<Diagnostic>,
    next_id: u32,
    /// Files being loaded, innermost last, to detect cycles.
    stack: Vec<PathBuf>,
}

impl Loader {
    /// Parse a file and, recursively, its imports; returns the file's index.
    fn add_file(&mut self, key: PathBuf, name: String, text: String) -> usize {
        let file = self.sources.add(name, text.as_str());
        let (decls, diags) = parse(&text, file, &mut self.next_id);
        self.diags.extend(diags);
        let index = self.files.len();
        self.files.push(Parsed {
            key: key.clone(),
            decls: Vec::new(),
            imports: Vec::new(),
        });
        self.stack.push(key.clone());
        let dir = key.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut imports = Vec::new();
        let mut scoped = Vec::new();
        for decl in &decls {
            if let Decl::Use(u) = decl {
                if let Some(target) = self.import(&dir, u) {
                    let names = u
                        .names
                        .as_ref()
                        .map(|ns| ns.iter().map(|n| n.name.clone()).collect());
                    imports.push((target, names));
                    if u.names.is_some() {
                        scoped.push((target, u.clone()));
                    }
                }
            }
        }
        self.stack.pop();
        self.files[index].decls = decls;
        self.files[index].imports = imports;
        for (target, u) in scoped {
            self.check_scoped_names(target, &u);
        }
        index
    }

    /// Resolve one `use`, loading the file unless it is already loaded.
    fn import(&mut self, dir: &Path, u: &UseDecl) -> Option<usize> {
        let path = dir.join(&u.path);
        let Ok(key) = std::fs::canonicalize(&path) else {
            self.diags.push(Diagnostic::error(
                codes::IMPORT_UNREADABLE,
                format!("imported file not found: `{}`", path.display()),
                u.span,
            ));
            return None;
        };
        if self.stack.contains(&key) {
            self.diags.push(
                Diagnostic::error(
                    codes::CIRCULAR_IMPORT,
                    format!("circular import of `{}`", u.path),
                    u.span,
                )
                .with_note(
                    "imports must form a tree: move the shared declarations into a third file",
                ),
            );
            return None;
        }
        if let Some(i) = self.files.iter().position(|f| f.key == key) {
            return Some(i);
        }
        match std::fs::read_to_string(&key) {
            Ok(text) => Some(self.add_file(key, path.display().to_string(), text)),
            Err(e) => {
                self.diags.push(Diagnostic::error(
                    codes::IMPORT_UNREADABLE,
                    format!("cannot read imported file `{}`: {e}", path.display()),
                    u.span,
                ));
                None
            }
        }
    }

    /// ILO-P019 for every name in `use "f" [...]` that `f` (or what it imports) lacks.
    fn check_scoped_names(&mut self, target: usize, u: &UseDecl) {
        let visible = self.visible_names(target);
        for n in u.names.iter().flatten() {
            if !visible.contains(&n.name) {
                self.diags.push(Diagnostic::error(
                    codes::NOT_EXPORTED,
                    format!("`{}` is not declared in `{}`", n.name, u.path),
                    n.span,
                ));
            }
        }
    }

    /// Names a file declares, plus those of the files it imports.
    fn visible_names(&self, file: usize) -> HashSet<String> {
        let mut out = HashSet::new();
        let mut seen = HashSet::new();
        let mut todo = vec![file];
        while let Some(f) = todo.pop() {
            if !seen.insert(f) {
                continue;
            }
            out.extend(self.files[f].decls.iter().filter_map(decl_name));
            todo.extend(self.files[f].imports.iter().map(|(t, _)| *t));
        }
        out
    }

    fn finish(self, root: Option<usize>) -> Loaded {
        let mut decls = Vec::new();
        if let Some(root) = root {
            let mut emitted = HashSet::new();
            self.emit(root, None, &mut emitted, &mut decls);
        }
        let program = self.diags.is_empty().then_some(SourceProgram {
            decls,
            expr_count: self.next_id,
        });
        Loaded {
            program,
            sources: self.sources,
            diagnostics: self.diags,
        }
    }

    /// Append a file's declarations (imports first), each declaration at most once.
    fn emit(
        &self,
        file: usize,
        only: Option<&[String]>,
        emitted: &mut HashSet<(usize, usize)>,
        out: &mut Vec<Decl>,
    ) {
        for (target, names) in &self.files[file].imports {
            self.emit(*target, names.as_deref(), emitted, out);
        }
        let decls = &self.files[file].decls;
        let keep = only.map(|names| with_local_helpers(decls, names));
        for (i, decl) in decls.iter().enumerate() {
            let wanted = match (decl, &keep) {
                (Decl::Use(_), _) => false,
                (Decl::Type(_), _) | (_, None) => true,
                (_, Some(keep)) => decl_name(decl).is_some_and(|n| keep.contains(&n)),
            };
            if wanted && emitted.insert((file, i)) {
                out.push(decl.clone());
            }
        }
    }
}

/// `names` plus every function of the same file they call or pass, transitively, so a
/// scoped import brings the private helpers its functions need.
fn with_local_helpers(decls: &[Decl], names: &[String]) -> HashSet<String> {
    let mut keep: HashSet<String> = names.iter().cloned().collect();
    let mut todo: Vec<String> = names.to_vec();
    while let Some(name) = todo.pop() {
        let Some(f) = decls.iter().find_map(|d| match d {
            Decl::Func(f) if f.name.name == name => Some(f),
            _ => None,
        }) else {
            continue;
        };
        let mut used = NamesUsed(Vec::new());
        walk_block(&mut used, &f.body);
        for u in used.0 {
            if keep.insert(u.clone()) {
                todo.push(u);
            }
        }
    }
    keep
}

/// Every name a block calls or references (locals included; callers filter).
struct NamesUsed(Vec<String>);

impl<'a> Visitor<'a> for NamesUsed {
    fn expr(&mut self, e: &'a Expr) -> bool {
        match &e.kind {
            ExprKind::Ref(name) | ExprKind::Call { callee: name, .. } => {
                self.0.push(name.name.clone());
            }
            _ => {}
        }
        true
    }
}

fn decl_name(decl: &Decl) -> Option<String> {
    match decl {
        Decl::Func(f) => Some(f.name.name.clone()),
        Decl::Type(t) => Some(t.name.name.clone()),
        Decl::Use(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(loaded: &Loaded) -> Vec<String> {
        let program = loaded.program.as_ref().expect("program loads");
        program.decls.iter().filter_map(decl_name).collect()
    }

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).expect("write test file");
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ilo-loader-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).expect("create test dir");
        dir
    }

    #[test]
    fn inline_programs_load_and_number_exprs() {
        let loaded = load_inline("f>n;+1 2");
        assert!(loaded.diagnostics.is_empty());
        let program = loaded.program.expect("program");
        assert_eq!(program.expr_count, 3);
        assert_eq!(names_of(&program), ["f"]);
    }

    fn names_of(p: &SourceProgram) -> Vec<String> {
        p.decls.iter().filter_map(decl_name).collect()
    }

    #[test]
    fn inline_use_is_rejected() {
        let loaded = load_inline("use \"x.ilo\"\nf>n;1");
        assert!(loaded.program.is_none());
        assert_eq!(loaded.diagnostics[0].code, "ILO-P017");
    }

    #[test]
    fn transitive_diamond_and_scoped_imports() {
        let dir = temp_dir("diamond");
        write(
            &dir,
            "base.ilo",
            "type pt{x:n;y:n}\nsq x:n>n;*x x\ncube x:n>n;*x *x x",
        );
        write(&dir, "sub/mid.ilo", "use \"../base.ilo\"\nmid x:n>n;sq x");
        write(
            &dir,
            "main.ilo",
            "use \"sub/mid.ilo\"\nuse \"base.ilo\" [sq]\nmain>n;mid 3",
        );
        let loaded = load_file(&dir.join("main.ilo"));
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        assert_eq!(names(&loaded), ["pt", "sq", "cube", "mid", "main"]);

        write(&dir, "scoped.ilo", "use \"base.ilo\" [cube]\nmain>n;cube 2");
        let loaded = load_file(&dir.join("scoped.ilo"));
        assert_eq!(names(&loaded), ["pt", "cube", "main"]);

        // A scoped import brings the helpers its functions use, and nothing else.
        write(
            &dir,
            "lib.ilo",
            "hlp x:n>n;*x 2\nuse-it x:n>n;hlp x\nother>n;1",
        );
        write(
            &dir,
            "helped.ilo",
            "use \"lib.ilo\" [use-it]\nmain>n;use-it 2",
        );
        let loaded = load_file(&dir.join("helped.ilo"));
        assert_eq!(names(&loaded), ["hlp", "use-it", "main"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_main_file() {
        let loaded = load_file(Path::new("no-such-dir/missing.ilo"));
        assert!(loaded.program.is_none());
        let d = &loaded.diagnostics[0];
        assert_eq!(d.code, "ILO-P017");
        assert!(d.message.contains("missing.ilo"));
        let span = d.primary_span().expect("span");
        assert_eq!(
            loaded.sources.file(span.file).name,
            "no-such-dir/missing.ilo"
        );
    }

    #[test]
    fn import_errors() {
        let dir = temp_dir("errors");
        write(&dir, "a.ilo", "use \"b.ilo\"\na>n;1");
        write(&dir, "b.ilo", "use \"a.ilo\"\nb>n;2");
        let loaded = load_file(&dir.join("a.ilo"));
        assert!(loaded.program.is_none());
        assert!(loaded.diagnostics.iter().any(|d| d.code == "ILO-P018"));

        write(
            &dir,
            "c.ilo",
            "use \"nope.ilo\"\nuse \"a2.ilo\" [zz]\nc>n;1",
        );
        write(&dir, "a2.ilo", "a2>n;1\nbad>n;+");
        let loaded = load_file(&dir.join("c.ilo"));
        let codes: Vec<&str> = loaded.diagnostics.iter().map(|d| d.code).collect();
        assert!(codes.contains(&"ILO-P017"), "{codes:?}");
        assert!(codes.contains(&"ILO-P019"), "{codes:?}");
        assert!(
            codes.contains(&"ILO-P010"),
            "errors inside imported files are reported: {codes:?}"
        );
        let missing = loaded
            .diagnostics
            .iter()
            .find(|d| d.code == "ILO-P017")
            .map(|d| d.message.clone());
        assert!(missing.is_some_and(|m| m.contains("nope.ilo")));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
