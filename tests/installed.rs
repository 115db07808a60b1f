//! `ilo build` from an installed copy of the binary: nothing beside it, no
//! `ILO_RUNTIME_LIB`, a fresh working directory and a fresh home. `cargo install`
//! builds exactly this binary (the same build script embeds the runtime library, in
//! the release profile instead of this one) and copies it alone into `~/.cargo/bin`,
//! so a copy of the test build in an empty directory is what a user gets, without
//! the cost of a second full build.

use std::path::Path;
use std::process::Command;

fn installed_copy(bin_dir: &Path) -> std::path::PathBuf {
    std::fs::create_dir_all(bin_dir).expect("bin dir");
    let copy = bin_dir.join("ilo");
    std::fs::copy(env!("CARGO_BIN_EXE_ilo"), &copy).expect("copy the ilo binary");
    copy
}

#[test]
fn an_installed_ilo_builds_programs_with_nothing_beside_it() {
    let root = tempfile::tempdir().expect("tempdir");
    let ilo = installed_copy(&root.path().join("bin"));
    let home = root.path().join("home");
    let work = root.path().join("work");
    std::fs::create_dir_all(&home).expect("home");
    std::fs::create_dir_all(&work).expect("work");
    std::fs::write(
        work.join("greet.ilo"),
        "greet name:t>t;fmt \"hi, {}\" name\n",
    )
    .expect("write program");

    let build = |out: &str| {
        Command::new(&ilo)
            .current_dir(&work)
            .env_remove("ILO_RUNTIME_LIB")
            .env_remove("XDG_CACHE_HOME")
            .env("HOME", &home)
            .args(["build", "greet.ilo", "-o", out])
            .output()
            .expect("run the installed ilo")
    };
    let o = build("greet");
    assert!(
        o.status.success(),
        "ilo build failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let run = Command::new(work.join("greet"))
        .arg("ada")
        .output()
        .expect("run the built program");
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim_end(), "hi, ada");

    // The library was written once, under the home's cache, and is reused.
    let cache = home.join(".cache").join("ilo");
    let cached: Vec<_> = std::fs::read_dir(&cache)
        .expect("a cache directory in the fresh home")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    assert!(cached[0].starts_with("libilo_runtime-") && cached[0].ends_with(".a"));
    let o = build("greet2");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_dir(&cache).expect("cache").count(), 1);
}
