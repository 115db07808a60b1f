//! JIT performance, side by side in one run: numeric loops against the same loop in
//! plain Rust, recursion, the list and string builders at two sizes (their ratio shows
//! linear versus quadratic growth), record construction, compile time, and realistic
//! programs that update maps, lists, texts and records in a loop, each against plain
//! Rust doing the same work.
//!
//! Run with `cargo bench --bench jit`. Each figure is the median of several runs.
//! `cargo bench --bench jit -- updates` runs only the update workloads, `-- sorts`
//! only the sorting ones.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
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

fn time_call_with(jit: &JitProgram, func: &str, args: impl Fn() -> Vec<Value>) -> Duration {
    median(|| {
        let args = args();
        let start = Instant::now();
        let r = jit.call_on_big_stack(func, args);
        let elapsed = start.elapsed();
        assert!(r.is_ok(), "{func} failed: {:?}", r.err().map(|e| e.error));
        black_box(r.ok());
        elapsed
    })
}

fn time_call(jit: &JitProgram, func: &str, arg: f64) -> Duration {
    time_call_with(jit, func, || vec![Value::num(arg)])
}

/// Time `f` on a fresh input from `setup`, made outside the timed part.
fn time_rust_with<T>(setup: impl Fn() -> T, mut f: impl FnMut(T)) -> Duration {
    median(|| {
        let input = setup();
        let start = Instant::now();
        f(input);
        start.elapsed()
    })
}

fn time_rust(mut f: impl FnMut()) -> Duration {
    median(|| {
        let start = Instant::now();
        f();
        start.elapsed()
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

/// A small deterministic generator, so every run sees the same data.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// `lines` lines of eight words drawn from a 10,000-word vocabulary.
fn word_file(dir: &Path, lines: usize) -> PathBuf {
    let mut rng = Lcg(7);
    let mut s = String::new();
    for _ in 0..lines {
        for j in 0..8 {
            if j > 0 {
                s.push(' ');
            }
            let _ = write!(s, "w{}", rng.next() % 10_000);
        }
        s.push('\n');
    }
    let path = dir.join(format!("words-{lines}.txt"));
    std::fs::write(&path, s).expect("write word file");
    path
}

/// `rows` CSV rows `key,amount` over 1,000 keys.
fn csv_file(dir: &Path, rows: usize) -> PathBuf {
    let mut rng = Lcg(11);
    let mut s = String::new();
    for _ in 0..rows {
        let _ = writeln!(s, "k{},{}", rng.next() % 1000, rng.next() % 100);
    }
    let path = dir.join(format!("sales-{rows}.csv"));
    std::fs::write(&path, s).expect("write csv file");
    path
}

fn random_numbers(n: usize) -> Vec<f64> {
    let mut rng = Lcg(3);
    (0..n).map(|_| (rng.next() % 1_000_000) as f64).collect()
}

/// `n` lowercase words of 3 to 12 letters; about one in ten repeats an earlier word.
fn random_words(n: usize) -> Vec<String> {
    let mut rng = Lcg(5);
    let mut words: Vec<String> = Vec::with_capacity(n);
    for i in 0..n {
        if i > 0 && rng.next() % 10 == 0 {
            let earlier = words[rng.next() as usize % i].clone();
            words.push(earlier);
            continue;
        }
        let len = 3 + rng.next() % 10;
        words.push(
            (0..len)
                .map(|_| char::from(b'a' + (rng.next() % 26) as u8))
                .collect(),
        );
    }
    words
}

fn rust_word_count(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).expect("read");
    let mut m: BTreeMap<String, f64> = BTreeMap::new();
    for line in text.lines() {
        for w in line.split(' ') {
            *m.entry(w.to_string()).or_insert(0.0) += 1.0;
        }
    }
    m.len()
}

fn rust_csv(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).expect("read");
    let mut m: BTreeMap<String, f64> = BTreeMap::new();
    for line in text.lines() {
        let mut cells = line.split(',');
        let k = cells.next().unwrap_or_default();
        let v: f64 = cells.next().unwrap_or_default().parse().unwrap_or(0.0);
        *m.entry(k.to_string()).or_insert(0.0) += v;
    }
    m.len()
}

fn rust_map_churn(n: usize) -> usize {
    let mut m: BTreeMap<String, f64> = BTreeMap::new();
    for i in 0..n {
        m.insert(i.to_string(), i as f64);
    }
    for i in 0..n {
        m.remove(&i.to_string());
    }
    m.len()
}

/// Numbers grouped by `i mod 3` into lists under text keys, as the ilo program does.
fn rust_grouping(n: usize) -> usize {
    let mut m: HashMap<String, Vec<f64>> = HashMap::new();
    for i in 0..n {
        m.entry((i % 3).to_string()).or_default().push(i as f64);
    }
    m.get("1").map_or(0, Vec::len)
}

fn rust_set_each(n: usize) -> usize {
    let mut xs: Vec<f64> = (0..n).map(|i| i as f64).collect();
    for i in 0..n {
        xs[black_box(i)] = i as f64 * 2.0;
    }
    xs.len()
}

fn rust_text_growth(n: usize) -> usize {
    let mut s = String::new();
    for i in 0..n {
        let _ = write!(s, "{i},");
    }
    s.len()
}

/// Build a text of `n` two-byte characters one append at a time, as the ilo program
/// does, then visit each character.
fn rust_text_chars(n: usize) -> usize {
    let mut s = String::new();
    for _ in 0..n {
        s.push_str(black_box("é"));
    }
    let mut count = 0;
    for c in s.chars() {
        black_box(c);
        count += 1;
    }
    count
}

/// The list `fld` builds: each element of `0..n` doubled, appended one by one.
fn rust_fold_list(n: usize) -> usize {
    let xs: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let out = xs.iter().fold(Vec::new(), |mut a, x| {
        a.push(black_box(*x) * 2.0);
        a
    });
    out.len()
}

/// Count the `a`s of a text read character by character by index.
fn rust_index_chars(s: &str) -> usize {
    let bytes = s.as_bytes();
    (0..bytes.len())
        .filter(|&i| black_box(bytes[i]) == b'a')
        .count()
}

fn rust_sort(xs: &[f64]) -> usize {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v.len()
}

/// Sort and free a list of texts the caller made (ilo's list too is made before the
/// call and freed inside it).
fn rust_sort_texts(mut v: Vec<String>) -> usize {
    v.sort();
    v.len()
}

#[derive(Clone, Copy)]
struct Acc {
    n: f64,
    s: f64,
}

fn rust_records(n: usize) -> f64 {
    let mut a = Acc { n: 0.0, s: 0.0 };
    for i in 0..n {
        a = Acc {
            n: a.n + 1.0,
            s: a.s + black_box(i as f64),
        };
    }
    a.s + a.n
}

/// A record whose text field grows by one character per update.
struct Labelled {
    t: String,
    n: f64,
}

fn rust_text_field(n: usize) -> usize {
    let mut a = Labelled {
        t: String::new(),
        n: 0.0,
    };
    for _ in 0..n {
        let mut t = a.t;
        t.push('x');
        a = Labelled { t, n: a.n + 1.0 };
    }
    black_box(a.n);
    a.t.len()
}

/// One update workload measured at `n` and `10n`, with plain Rust at `10n`.
struct Scaling {
    name: &'static str,
    small: Duration,
    large: Duration,
    rust_large: Duration,
}

impl Scaling {
    fn print(&self) {
        println!(
            "{:<36} {:>9.1} {:>9.1} {:>7.2}x {:>9.1} {:>7.2}x",
            self.name,
            ms(self.small),
            ms(self.large),
            self.large.as_secs_f64() / self.small.as_secs_f64(),
            ms(self.rust_large),
            self.large.as_secs_f64() / self.rust_large.as_secs_f64(),
        );
    }
}

fn updates() -> Vec<Scaling> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut out = Vec::new();

    let wc = compile(
        "wc p:t>n;ls=rdl!! p;m=mmap;@l ls{@w (spl l \" \"){c=mget m w??0;m=mset m w +c 1}};len m",
    );
    let (f1, f2) = (
        word_file(dir.path(), 10_000),
        word_file(dir.path(), 100_000),
    );
    let arg = |p: &Path| Value::text(p.to_string_lossy().into_owned());
    out.push(Scaling {
        name: "word count, 1e4 / 1e5 lines of 8",
        small: time_call_with(&wc, "wc", || vec![arg(&f1)]),
        large: time_call_with(&wc, "wc", || vec![arg(&f2)]),
        rust_large: time_rust(|| {
            black_box(rust_word_count(&f2));
        }),
    });

    // The count as a fold: the map is `fld`'s accumulator, the update reads it too.
    let wc_fold = compile(
        "wf p:t>n;ls=rdl!! p;m=fld (a:M t n l:t>M t n;@w (spl l \" \"){a=mset a w +(mget a w ?? 0) 1};a) ls mmap;len m",
    );
    out.push(Scaling {
        name: "word count by fld, 1e4 / 1e5 lines",
        small: time_call_with(&wc_fold, "wf", || vec![arg(&f1)]),
        large: time_call_with(&wc_fold, "wf", || vec![arg(&f2)]),
        rust_large: time_rust(|| {
            black_box(rust_word_count(&f2));
        }),
    });

    let agg = compile(
        "agg p:t>n;rows=rd!! p;m=mmap;@r rows{k=r.0;v=num!! r.1;s=mget m k??0;m=mset m k +s v};len m",
    );
    let (c1, c2) = (csv_file(dir.path(), 20_000), csv_file(dir.path(), 200_000));
    out.push(Scaling {
        name: "CSV sum by key, 2e4 / 2e5 rows",
        small: time_call_with(&agg, "agg", || vec![arg(&c1)]),
        large: time_call_with(&agg, "agg", || vec![arg(&c2)]),
        rust_large: time_rust(|| {
            black_box(rust_csv(&c2));
        }),
    });

    let churn =
        compile("md n:n>n;m=mmap;@i 0..n{m=mset m (str i) i};@i 0..n{m=mdel m (str i)};len m");
    out.push(Scaling {
        name: "mset then mdel, 1e4 / 1e5 keys",
        small: time_call(&churn, "md", 1e4),
        large: time_call(&churn, "md", 1e5),
        rust_large: time_rust(|| {
            black_box(rust_map_churn(black_box(100_000)));
        }),
    });

    let group = compile(
        "gr n:n>n;m=mmap;@i 0..n{k=str (mod i 3);xs=mget m k ?? [];m=mset m k +=xs i};len (mget m \"1\" ?? [])",
    );
    out.push(Scaling {
        name: "map of lists by key, 2e4 / 2e5",
        small: time_call(&group, "gr", 2e4),
        large: time_call(&group, "gr", 2e5),
        rust_large: time_rust(|| {
            black_box(rust_grouping(black_box(200_000)));
        }),
    });

    let set_each = compile("se n:n>n;xs=range 0 n;@i 0..n{xs=lst xs i *i 2};len xs");
    out.push(Scaling {
        name: "lst every element, 1e5 / 1e6",
        small: time_call(&set_each, "se", 1e5),
        large: time_call(&set_each, "se", 1e6),
        rust_large: time_rust(|| {
            black_box(rust_set_each(black_box(1_000_000)));
        }),
    });

    let fold_list = compile("fl n:n>n;xs=fld (a:L n x:n>L n;+=a *x 2) (range 0 n) [];len xs");
    out.push(Scaling {
        name: "list built by fld, 1e5 / 1e6",
        small: time_call(&fold_list, "fl", 1e5),
        large: time_call(&fold_list, "fl", 1e6),
        rust_large: time_rust(|| {
            black_box(rust_fold_list(black_box(1_000_000)));
        }),
    });

    let index = compile("ai s:t>n;c=0;@i 0..len s{=(at s i) \"a\"{c=+c 1}};c");
    let (t1, t2) = ("ab".repeat(50_000), "ab".repeat(500_000));
    out.push(Scaling {
        name: "at s i over a text, 1e5 / 1e6 chars",
        small: time_call_with(&index, "ai", || vec![Value::text(t1.as_str())]),
        large: time_call_with(&index, "ai", || vec![Value::text(t2.as_str())]),
        rust_large: time_rust(|| {
            black_box(rust_index_chars(black_box(&t2)));
        }),
    });

    let grow = compile("ft n:n>n;s=\"\";@i 0..n{s=fmt \"{}{},\" s i};len s");
    out.push(Scaling {
        name: "text grown by fmt, 1e5 / 1e6",
        small: time_call(&grow, "ft", 1e5),
        large: time_call(&grow, "ft", 1e6),
        rust_large: time_rust(|| {
            black_box(rust_text_growth(black_box(1_000_000)));
        }),
    });

    let chars = compile("tc n:n>n;s=\"\";@i 0..n{s=+s \"é\"};c=0;@x s{c=+c 1};c");
    out.push(Scaling {
        name: "@x over a text, 1e5 / 1e6 chars",
        small: time_call(&chars, "tc", 1e5),
        large: time_call(&chars, "tc", 1e6),
        rust_large: time_rust(|| {
            black_box(rust_text_chars(black_box(1_000_000)));
        }),
    });

    out.extend(sorts());

    let recs = compile(
        "type acc{n:n;s:n}\nrc n:n>n;a=acc n:0 s:0;@i 0..n{a=a with n:+a.n 1 s:+a.s i};+a.s a.n",
    );
    out.push(Scaling {
        name: "record with, 1e5 / 1e6",
        small: time_call(&recs, "rc", 1e5),
        large: time_call(&recs, "rc", 1e6),
        rust_large: time_rust(|| {
            black_box(rust_records(black_box(1_000_000)));
        }),
    });

    let text_field = compile(
        "type acc{t:t;n:n}\ntf n:n>n;a=acc t:\"\" n:0;@i 0..n{a=a with t:+a.t \"x\" n:+a.n 1};len a.t",
    );
    out.push(Scaling {
        name: "text field grown by with, 1e5 / 1e6",
        small: time_call(&text_field, "tf", 1e5),
        large: time_call(&text_field, "tf", 1e6),
        rust_large: time_rust(|| {
            black_box(rust_text_field(black_box(1_000_000)));
        }),
    });
    out
}

/// `srt` of numbers and of texts at n and 10n, against Rust sorting the same data.
fn sorts() -> Vec<Scaling> {
    let mut out = Vec::new();
    let sort = compile("so xs:L n>n;ys=srt xs;len ys");
    let (n1, n2) = (random_numbers(100_000), random_numbers(1_000_000));
    let as_list = |xs: &[f64]| Value::list(xs.iter().map(|x| Value::num(*x)).collect());
    out.push(Scaling {
        name: "srt numbers, 1e5 / 1e6",
        small: time_call_with(&sort, "so", || vec![as_list(&n1)]),
        large: time_call_with(&sort, "so", || vec![as_list(&n2)]),
        rust_large: time_rust(|| {
            black_box(rust_sort(&n2));
        }),
    });

    let text_sort = compile("so xs:L t>n;ys=srt xs;len ys");
    let (w1, w2) = (random_words(100_000), random_words(1_000_000));
    let as_texts =
        |ws: &[String]| Value::list(ws.iter().map(|w| Value::text(w.as_str())).collect());
    out.push(Scaling {
        name: "srt texts, 1e5 / 1e6",
        small: time_call_with(&text_sort, "so", || vec![as_texts(&w1)]),
        large: time_call_with(&text_sort, "so", || vec![as_texts(&w2)]),
        rust_large: time_rust_with(
            || w2.clone(),
            |v| {
                black_box(rust_sort_texts(v));
            },
        ),
    });
    out
}

fn main() {
    let only_sorts = std::env::args().any(|a| a == "sorts");
    let only_updates = only_sorts || std::env::args().any(|a| a == "updates");
    if !only_updates {
        basics();
    }
    println!();
    println!(
        "functional updates in a loop: ilo at n and 10n, plain Rust at 10n (ms, median of {RUNS})"
    );
    println!(
        "{:<36} {:>9} {:>9} {:>8} {:>9} {:>8}",
        "workload", "ilo n", "ilo 10n", "growth", "Rust 10n", "ilo/Rust"
    );
    for s in if only_sorts { sorts() } else { updates() } {
        s.print();
    }
}

fn basics() {
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
