//! JIT performance, side by side in one run: numeric loops against the same loop in
//! plain Rust, recursion, the list and string builders at two sizes (their ratio shows
//! linear versus quadratic growth), record construction, and compile time.
//!
//! Run with `cargo bench --bench jit`. Each figure is the median of several runs.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use ilo_compiler::codegen::JitProgram;
use ilo_compiler::{loader, verify};
use ilo_runtime::Value;

const RUNS: usize = 5;

fn compile(code: &str) -> JitProgram {
    let loaded = loader::load_inline(code);
    let program = match loaded.program {
        Some(p) => p,
        None => panic!("bench program does not parse: {:?}", loaded.diagnostics),
    };
    let checked = match verify::verify(program) {
        Ok(c) => c,
        Err(d) => panic!("bench program does not verify: {d:?}"),
    };
    match JitProgram::compile(&checked) {
        Ok(j) => j,
        Err(d) => panic!("bench program does not compile: {d:?}"),
    }
}

fn median(mut f: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..RUNS).map(|_| f()).collect();
    times.sort();
    times[RUNS / 2]
}

fn time_call(jit: &JitProgram, func: &str, arg: f64) -> Duration {
    median(|| {
        let start = Instant::now();
        let r = jit.call_on_big_stack(func, vec![Value::num(arg)]);
        let elapsed = start.elapsed();
        assert!(r.is_ok(), "{func} failed: {:?}", r.err().map(|e| e.error));
        black_box(r.ok());
        elapsed
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn rust_loop(n: f64) -> f64 {
    let mut i = 0.0;
    let mut s = 0.0;
    while i < n {
        s += black_box(i) * 2.0;
        i += 1.0;
    }
    s
}

fn main() {
    let n = 1e8;
    let loop_jit = compile("f n:n>n;i=0;s=0;wh <i n{s=+s *i 2;i=+i 1};s");
    let t_loop = time_call(&loop_jit, "f", n);
    let t_rust = median(|| {
        let start = Instant::now();
        black_box(rust_loop(black_box(n)));
        start.elapsed()
    });

    let fib = compile("fib n:n>n;<=n 1 n;a=fib -n 1;b=fib -n 2;+a b");
    let t_fib = time_call(&fib, "fib", 30.0);

    let list = compile("f n:n>n;xs=[];@i 0..n{xs=+=xs i};len xs");
    let t_list_small = time_call(&list, "f", 1e5);
    let t_list = time_call(&list, "f", 1e6);

    let text = compile("f n:n>n;s=\"\";@i 0..n{s=+s \"x\"};len s");
    let t_text_small = time_call(&text, "f", 1e5);
    let t_text = time_call(&text, "f", 1e6);

    let records = compile("type pt{x:n;y:n}\nf n:n>n;s=0;@i 0..n{p=pt x:i y:2;s=+s p.x};s");
    let t_records = time_call(&records, "f", 1e6);

    let largest = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ilo"))
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0));
    let compile_time = largest.as_ref().map(|path| {
        median(|| {
            let start = Instant::now();
            let loaded = loader::load_file(path);
            if let Some(program) = loaded.program {
                if let Ok(checked) = verify::verify(program) {
                    black_box(JitProgram::compile(&checked).ok());
                }
            }
            start.elapsed()
        })
    });

    println!("ilo JIT benchmarks (median of {RUNS} runs)");
    println!("{:<44} {:>12}", "workload", "time");
    println!(
        "{:<44} {:>9.1} ms",
        "numeric wh loop, 1e8 iterations (ilo)",
        ms(t_loop)
    );
    println!("{:<44} {:>9.1} ms", "same loop in plain Rust", ms(t_rust));
    println!(
        "{:<44} {:>9.2} x",
        "  ratio ilo / Rust (goal <= 1.5)",
        t_loop.as_secs_f64() / t_rust.as_secs_f64()
    );
    println!("{:<44} {:>9.1} ms", "fib 30 (recursive)", ms(t_fib));
    println!(
        "{:<44} {:>9.1} ms",
        "list +=, 1e5 elements",
        ms(t_list_small)
    );
    println!("{:<44} {:>9.1} ms", "list +=, 1e6 elements", ms(t_list));
    println!(
        "{:<44} {:>9.2} x",
        "  growth 1e6 / 1e5 (linear = 10)",
        t_list.as_secs_f64() / t_list_small.as_secs_f64()
    );
    println!("{:<44} {:>9.1} ms", "text +, 1e5 pieces", ms(t_text_small));
    println!("{:<44} {:>9.1} ms", "text +, 1e6 pieces", ms(t_text));
    println!(
        "{:<44} {:>9.2} x",
        "  growth 1e6 / 1e5 (linear = 10)",
        t_text.as_secs_f64() / t_text_small.as_secs_f64()
    );
    println!(
        "{:<44} {:>9.1} ms",
        "1e6 record constructions + field reads",
        ms(t_records)
    );
    if let (Some(path), Some(t)) = (largest, compile_time) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        println!(
            "{:<44} {:>9.1} ms",
            format!("compile {name} (load+verify+JIT)"),
            ms(t)
        );
    }
}
