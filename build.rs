//! Regenerates ai.txt (the compact specification `ilo help ai` prints) from SPEC.md
//! whenever SPEC.md changes. The file is written into the source tree so that it is
//! committed alongside the specification; a test fails when the committed pair differ.

#[path = "src/ai_txt.rs"]
mod ai_txt;

use std::fs;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=SPEC.md");
    println!("cargo:rerun-if-changed=src/ai_txt.rs");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let spec = match fs::read_to_string(root.join("SPEC.md")) {
        Ok(s) => s,
        Err(e) => panic!("cannot read SPEC.md: {e}"),
    };
    let compact = ai_txt::compact(&spec);
    let target = root.join("ai.txt");
    // Write only on change, so an unchanged tree stays untouched (and rebuilds stay quiet).
    if fs::read_to_string(&target).ok().as_deref() != Some(compact.as_str()) {
        if let Err(e) = fs::write(&target, compact) {
            panic!("cannot write ai.txt: {e}");
        }
    }
}
