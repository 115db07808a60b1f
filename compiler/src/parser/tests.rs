//! Parser unit tests: the shapes each construct must produce.

use super::parse;
use crate::ast::*;
use crate::diag::Diagnostic;
use crate::span::FileId;

fn parse_ok(src: &str) -> Vec<Decl> {
    let mut next = 0;
    let (decls, diags) = parse(src, FileId(0), &mut next);
    assert!(diags.is_empty(), "{src}: {diags:?}");
    decls
}

fn parse_err(src: &str) -> Vec<Diagnostic> {
    let mut next = 0;
    let (_, diags) = parse(src, FileId(0), &mut next);
    assert!(!diags.is_empty(), "{src} parsed without errors");
    diags
}

#[test]
fn smoke() {
    let decls = parse_ok("f x:n>n;+x 1");
    assert_eq!(decls.len(), 1);
    let _ = parse_err("f>n;-3 + 1");
}
