//! `@line src{…}` over a lazy line source pulls one line per iteration; leaving the
//! loop early (brk, ret) releases the source.

mod codegen_support;

use codegen_support::output;

fn temp_file(name: &str, text: &str) -> String {
    let path = std::env::temp_dir().join(format!("ilo-codegen-{}-{name}", std::process::id()));
    std::fs::write(&path, text).expect("write temp file");
    path.to_string_lossy().into_owned()
}

#[test]
fn iterates_the_lines_of_a_file_source() {
    let path = temp_file("lines", "ab\ncde\n\nf\n");
    let code = "f p:t>t;s=\"\";@l (for-line p){s=+s +l \"|\"};s";
    assert_eq!(output(code, &[&path]), "ab|cde||f|");
    let code = "f p:t>n;n=0;@l (for-line p){=l \"\"{brk};n=+n 1};n";
    assert_eq!(output(code, &[&path]), "2");
    let code = "f p:t>t;@l (for-line p){=l \"cde\"{ret l}};\"none\"";
    assert_eq!(output(code, &[&path]), "cde");
    let _ = std::fs::remove_file(path);
}
