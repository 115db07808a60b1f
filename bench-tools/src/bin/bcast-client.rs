//! Subscribes `--conns` clients to a broadcast feed whose lines start with their
//! production time (ns since the epoch, as the ticker writes them), reads for
//! `--seconds`, and reports production-to-arrival latency over every subscriber, and
//! whether every subscriber got every line produced once all had subscribed (from
//! the latest first line any of them received; each one's lines must then be the
//! feed's lines with no gap, the slowest may trail).
//!
//! With `--threads N` (1 by default), N threads each hold an equal share of the
//! connections in an epoll set of their own (dealt in turn as they connect, so each
//! has the same mix) and read them in parallel, as independent subscribers would; the
//! figures are over every subscriber, whichever thread read it. Lines are found in
//! the raw bytes: a data line is the text between two newlines that ends in ` tick`,
//! which skips chunk framing.
//!
//! With `--server-pid PID`, it also reports the server's CPU time (user and system,
//! from `/proc/PID/stat`) per subscriber line, from the moment every subscriber has
//! its first line to the end: a figure a busy machine disturbs far less than
//! latency. It reads the file twice, so every server is measured alike.
//!
//! With `--per-line`, each counted line's fan-out is also printed to stderr: its
//! production stamp, how many subscribers had it, and the first, median and last
//! arrival (ms after production), to tell one slow line from a slow fan-out.
//!
//! The client shares the machine with the server, so it keeps its own work small: an
//! edge-triggered epoll set per thread, one read per report, and, while a fan-out is
//! under way, a pause of `--gather-us` (100 µs; 0 for none) after a wait that found
//! only a few of the thread's sockets ready, so that the server's next `send` does
//! not have to wake it again. It reports its own CPU time (all threads) per
//! subscriber line too (`client_cpu_us`), over the same window as the server's.
//!
//! usage: bcast-client --addr HOST:PORT [--path /bcast] [--conns 1000] [--seconds 10]
//!        [--threads 1] [--per-line] [--server-pid PID] [--gather-us 100]
//! prints: {"conns":N,"threads":N,"lines_min":..,"lines_max":..,"complete":bool,"samples":..,
//!          "p50_ms":..,"p99_ms":..,"max_ms":..[,"server_cpu_us":..],"client_cpu_us":..}

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use ilo_bench_tools::{now_ns, percentile, Flags};

struct Sub {
    stream: TcpStream,
    /// The start of a line cut by the end of a read, until its rest arrives.
    pending: Vec<u8>,
    /// Lines received so far.
    lines: usize,
}

/// A line as a reading thread records it: which of the thread's subscribers read it,
/// its production stamp, and when it was read and reached the socket (ns since the
/// epoch).
#[derive(Clone, Copy)]
struct Arrival {
    sub: u32,
    stamp: u64,
    read: u64,
    at_socket: u64,
}

/// Entries per block of an [`ArrivalLog`]: 2 MiB.
const LOG_BLOCK: usize = 65_536;

/// Every line a reading thread received, in the order it read them. Appending to one
/// log keeps the write at the end of a block the thread just used, where a list per
/// subscriber has it touch that subscriber's cold list at every read; and blocks of
/// a fixed size mean the log never copies itself to grow in the middle of a run.
#[derive(Default)]
struct ArrivalLog(Vec<Vec<Arrival>>);

impl ArrivalLog {
    fn push(&mut self, arrival: Arrival) {
        match self.0.last_mut() {
            Some(block) if block.len() < LOG_BLOCK => block.push(arrival),
            _ => {
                let mut block = Vec::with_capacity(LOG_BLOCK);
                block.push(arrival);
                self.0.push(block);
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Arrival> {
        self.0.iter().flatten()
    }
}

/// A line one subscriber received: its production stamp (ns since the epoch), and how
/// long after it the client read it and the line reached the socket (ms).
struct Line {
    stamp: u128,
    read_ms: f64,
    socket_ms: f64,
}

/// One reading thread's part: its own epoll set, the subscribers in it and the lines
/// they received.
struct Share {
    epoll: OwnedFd,
    subs: Vec<Sub>,
    log: ArrivalLog,
}

/// A count one thread writes and the others only read, alone on its cache line so
/// that the readers' threads do not share a line they all write at every read.
#[repr(align(64))]
#[derive(Default)]
struct OwnCount(AtomicUsize);

/// What the reading threads share: how many subscribers have a line, each thread's
/// count of lines received, and the CPU times and lines received when the last
/// subscriber got its first line (where the CPU window starts).
struct Progress {
    conns: usize,
    server: Option<u32>,
    reached: AtomicUsize,
    received: Vec<OwnCount>,
    cpu_from: Mutex<Option<(Option<Duration>, Duration, usize)>>,
}

impl Progress {
    /// Lines received so far by every thread.
    fn received(&self) -> usize {
        self.received
            .iter()
            .map(|c| c.0.load(Ordering::Relaxed))
            .sum()
    }

    /// A subscriber received its first line: the last one to do so opens the CPU
    /// window.
    fn reached_one(&self) {
        if self.reached.fetch_add(1, Ordering::Relaxed) + 1 == self.conns {
            let from = (
                self.server.and_then(cpu_time),
                own_cpu_time(),
                self.received(),
            );
            if let Ok(mut cpu_from) = self.cpu_from.lock() {
                *cpu_from = Some(from);
            }
        }
    }
}

fn main() {
    let flags = Flags::from_env();
    let flag = |name: &str, default: &str| flags.or(name, default);
    let addr = flag("--addr", "127.0.0.1:8080");
    let path = flag("--path", "/bcast");
    let conns: usize = flag("--conns", "1000").parse().unwrap_or(1000);
    let seconds: u64 = flag("--seconds", "10").parse().unwrap_or(10);
    let per_line = flags.has("--per-line");
    let gather_us: u64 = flag("--gather-us", "100").parse().unwrap_or(100);
    let threads: usize = flag("--threads", "1")
        .parse()
        .unwrap_or(1)
        .clamp(1, conns.max(1));
    let server = flags
        .get("--server-pid")
        .and_then(|p| p.parse::<u32>().ok());
    match run(
        &addr,
        &path,
        conns,
        threads,
        Duration::from_secs(seconds),
        per_line,
        server,
        Duration::from_micros(gather_us),
    ) {
        Ok(out) => println!("{out}"),
        Err(e) => {
            eprintln!("bcast-client: {e}");
            std::process::exit(1);
        }
    }
}

/// Connects `conns` subscribers, dealt in turn to `threads` epoll sets, so that every
/// thread has the same mix of early and late connections (and of the server's loops,
/// which commonly take connections in turn too).
fn subscribe(addr: &str, path: &str, conns: usize, threads: usize) -> io::Result<Vec<Share>> {
    let mut shares = Vec::with_capacity(threads);
    for _ in 0..threads {
        // SAFETY: epoll_create1 takes only flags.
        let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epoll < 0 {
            return Err(io::Error::last_os_error());
        }
        shares.push(Share {
            // SAFETY: `epoll` is a descriptor just opened and owned by nothing else.
            epoll: unsafe { OwnedFd::from_raw_fd(epoll) },
            subs: Vec::with_capacity(conns / threads + 1),
            log: ArrivalLog::default(),
        });
    }
    for i in 0..conns {
        let share = &mut shares[i % threads];
        let mut stream = TcpStream::connect(addr)?;
        stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n").as_bytes())?;
        stream.set_nonblocking(true)?;
        stamp_arrivals(&stream)?;
        let mut event = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLET) as u32,
            u64: share.subs.len() as u64,
        };
        // SAFETY: registers a live socket with a live epoll set.
        let added = unsafe {
            libc::epoll_ctl(
                share.epoll.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                stream.as_raw_fd(),
                &mut event,
            )
        };
        if added != 0 {
            return Err(io::Error::last_os_error());
        }
        share.subs.push(Sub {
            stream,
            pending: Vec::new(),
            lines: 0,
        });
    }
    Ok(shares)
}

#[allow(clippy::too_many_arguments)]
fn run(
    addr: &str,
    path: &str,
    conns: usize,
    threads: usize,
    duration: Duration,
    per_line: bool,
    server: Option<u32>,
    gather: Duration,
) -> io::Result<String> {
    let mut shares = subscribe(addr, path, conns, threads)?;
    let progress = Progress {
        conns,
        server,
        reached: AtomicUsize::new(0),
        received: (0..threads).map(|_| OwnCount::default()).collect(),
        cpu_from: Mutex::new(None),
    };
    let end = Instant::now() + duration;
    // The first share is read on this thread, the others on threads of their own.
    let (first, others) = shares.split_at_mut(1);
    thread::scope(|scope| -> io::Result<()> {
        let progress = &progress;
        let readers: Vec<_> = others
            .iter_mut()
            .enumerate()
            .map(|(i, share)| scope.spawn(move || read_share(share, i + 1, progress, end, gather)))
            .collect();
        let mut result = read_share(&mut first[0], 0, progress, end, gather);
        for reader in readers {
            let done = reader
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("a reading thread panicked")));
            result = result.and(done);
        }
        result
    })?;
    let (server_to, own_to) = (server.and_then(cpu_time), own_cpu_time());
    let received = progress.received();
    let cpu_from = progress.cpu_from.lock().ok().and_then(|from| *from);
    let logs: Vec<ArrivalLog> = shares.into_iter().map(|share| share.log).collect();
    let subs = lines_by_subscriber(&logs, conns);
    let cpu_per_line = |from: Duration, to: Duration, lines: usize| {
        to.saturating_sub(from).as_secs_f64() * 1e6 / (received - lines) as f64
    };
    let server_cpu = match (cpu_from, server_to) {
        (Some((Some(from), _, lines)), Some(to)) if received > lines => {
            format!(",\"server_cpu_us\":{:.3}", cpu_per_line(from, to, lines))
        }
        _ => String::new(),
    };
    let client_cpu = match cpu_from {
        Some((_, from, lines)) if received > lines => {
            format!(
                ",\"client_cpu_us\":{:.3}",
                cpu_per_line(from, own_to, lines)
            )
        }
        _ => String::new(),
    };
    // Only lines produced once every subscriber was subscribed count: from the
    // latest first line any subscriber received.
    let counted_from = subs
        .iter()
        .map(|lines| lines.first().map_or(u128::MAX, |l| l.stamp))
        .max()
        .unwrap_or(u128::MAX);
    let stamps: Vec<Vec<u128>> = subs
        .iter()
        .map(|lines| {
            lines
                .iter()
                .map(|l| l.stamp)
                .filter(|&t| t >= counted_from)
                .collect()
        })
        .collect();
    if per_line {
        print_per_line(&subs, counted_from);
    }
    let counted = || {
        subs.iter()
            .flat_map(|lines| lines.iter().filter(|l| l.stamp >= counted_from))
    };
    let mut sample: Vec<f64> = counted().map(|l| l.read_ms).collect();
    let mut at_socket: Vec<f64> = counted().map(|l| l.socket_ms).collect();
    // Complete: no subscriber missed a line. Each one's lines must be the first lines
    // of the whole feed, in order, with no gap: lines still in flight when the time
    // ran out are late, not lost.
    let all: Vec<u128> = stamps
        .iter()
        .flatten()
        .copied()
        .collect::<BTreeSet<u128>>()
        .into_iter()
        .collect();
    let lines_min = stamps.iter().map(Vec::len).min().unwrap_or(0);
    let lines_max = stamps.iter().map(Vec::len).max().unwrap_or(0);
    let complete = lines_max > 0 && stamps.iter().all(|s| s[..] == all[..s.len()]);
    let max = sample.iter().cloned().fold(0.0, f64::max);
    let samples = sample.len();
    let p50 = percentile(&mut sample, 50.0);
    let p99 = percentile(&mut sample, 99.0);
    let socket = format!(
        ",\"socket_p50_ms\":{:.3},\"socket_p99_ms\":{:.3},\"socket_max_ms\":{:.3}",
        percentile(&mut at_socket, 50.0),
        percentile(&mut at_socket, 99.0),
        at_socket.iter().cloned().fold(0.0, f64::max)
    );
    Ok(format!(
        "{{\"conns\":{conns},\"threads\":{threads},\"lines_min\":{lines_min},\"lines_max\":{lines_max},\"lines_all\":{},\"complete\":{complete},\"samples\":{samples},\"p50_ms\":{p50:.3},\"p99_ms\":{p99:.3},\"max_ms\":{max:.3}{socket}{server_cpu}{client_cpu}}}",
        all.len()
    ))
}

/// Reads `share`'s subscribers until `end`, as thread `index` of the client.
fn read_share(
    share: &mut Share,
    index: usize,
    progress: &Progress,
    end: Instant,
    gather: Duration,
) -> io::Result<()> {
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    let mut buf = vec![0u8; 64 * 1024];
    let mut received = 0usize;
    while Instant::now() < end {
        // SAFETY: the kernel fills at most `events.len()` entries of our buffer.
        let n = unsafe {
            libc::epoll_wait(
                share.epoll.as_raw_fd(),
                events.as_mut_ptr(),
                events.len() as i32,
                100,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for event in &events[..n as usize] {
            let sub = &mut share.subs[event.u64 as usize];
            // A read that did not fill the buffer took everything there was, and
            // bytes arriving later are a new edge, reported again. So one read per
            // report, not a second one to hear EWOULDBLOCK (which would double the
            // client's system calls on the cores the server uses). Edge-triggered,
            // so the next wait does not look at every socket just read once more.
            loop {
                match recv_stamped(&sub.stream, &mut buf) {
                    Ok((0, _)) => break,
                    Ok((got, at_socket)) => {
                        let read = now_ns() as u64;
                        let at_socket = at_socket.map_or(read, |t| t as u64);
                        let had = sub.lines;
                        let log = &mut share.log;
                        take_lines(&mut sub.pending, &buf[..got], |stamp| {
                            sub.lines += 1;
                            log.push(Arrival {
                                sub: event.u64 as u32,
                                stamp,
                                read,
                                at_socket,
                            });
                        });
                        received += sub.lines - had;
                        progress.received[index]
                            .0
                            .store(received, Ordering::Relaxed);
                        if had == 0 && sub.lines > 0 {
                            progress.reached_one();
                        }
                        if got < buf.len() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        }
        if n > 0 && (n as usize) < events.len() && !gather.is_zero() {
            // Mid fan-out, a wait that finds a few sockets ready and then sleeps in
            // epoll has the server's next `send` wake this thread again: on loopback
            // that wake-up runs inside the server's `send`, and a client faster than
            // the server sleeps and is woken every few sockets. Letting the sockets
            // gather for a moment turns those into one timer wake-up, at the price
            // of about `gather` (and the timer's slack) on the latencies measured.
            thread::sleep(gather);
        }
    }
    Ok(())
}

/// CPU time (user and system) the process `pid` has used so far.
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces), from the state on:
    // utime and stime are the 12th and 13th.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let ticks: u64 = fields.next()?.parse::<u64>().ok()? + fields.next()?.parse::<u64>().ok()?;
    // SAFETY: sysconf reads a constant of the system; it takes no pointers.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let per_second = u64::try_from(per_second).ok().filter(|&t| t > 0)?;
    Some(Duration::from_secs_f64(ticks as f64 / per_second as f64))
}

/// Have the kernel stamp each segment with the time it reached `stream`'s socket
/// (`SO_TIMESTAMPNS`), for [`recv_stamped`].
fn stamp_arrivals(stream: &TcpStream) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: passes a live c_int of the right size for SO_TIMESTAMPNS.
    let done = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if done != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Read what `stream` has into `buf`: the byte count and when the last segment read
/// reached the socket (ns since the epoch, the clock the ticker stamps lines with),
/// if the kernel said.
fn recv_stamped(stream: &TcpStream, buf: &mut [u8]) -> io::Result<(usize, Option<u128>)> {
    // Room for one control message holding a timespec, aligned for cmsghdr.
    let mut control = [0u64; 8];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain data; all-zero is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: the header points at `buf` and `control`, both live and of the sizes
    // given, for the duration of the call.
    let got = unsafe { libc::recvmsg(stream.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) };
    if got < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut at_socket = None;
    // SAFETY: walks the control messages the kernel wrote into `control`, within
    // the length it reported, with the libc macros made for that.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_TIMESTAMPNS
            {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                at_socket = Some(ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128);
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok((got as usize, at_socket))
}

/// CPU time (user and system) this client has used so far.
fn own_cpu_time() -> Duration {
    // SAFETY: getrusage fills the live struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_SELF cannot fail with a valid pointer.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// Each counted line's arrivals: subscribers reached, then the first, median and last
/// arrival (ms) as read and as the sockets stamped them.
fn print_per_line(subs: &[Vec<Line>], counted_from: u128) {
    let mut by_line: BTreeMap<u128, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for line in subs.iter().flatten() {
        if line.stamp >= counted_from {
            let (read, at_socket) = by_line.entry(line.stamp).or_default();
            read.push(line.read_ms);
            at_socket.push(line.socket_ms);
        }
    }
    let spread = |arrivals: &mut Vec<f64>| {
        let (first, last) = (percentile(arrivals, 0.0), percentile(arrivals, 100.0));
        let median = percentile(arrivals, 50.0);
        format!("first {first:.3} ms, median {median:.3} ms, last {last:.3} ms")
    };
    for (stamp, (mut read, mut at_socket)) in by_line {
        eprintln!(
            "line {stamp}: {} subscribers, read {}; at the socket {}",
            read.len(),
            spread(&mut read),
            spread(&mut at_socket)
        );
    }
}

/// Finds the data lines in what a subscriber had `pending` followed by the `bytes` just
/// read, and calls `found` with each one's production stamp; keeps the start of a
/// line cut by the end of `bytes` in `pending`. When nothing was pending (the usual
/// case: a read ends at a line's end), the lines are found in `bytes` where they lie.
fn take_lines(pending: &mut Vec<u8>, bytes: &[u8], mut found: impl FnMut(u64)) {
    if pending.is_empty() {
        let used = scan_lines(bytes, &mut found);
        pending.extend_from_slice(&bytes[used..]);
    } else {
        pending.extend_from_slice(bytes);
        let used = scan_lines(pending, &mut found);
        pending.drain(..used);
    }
}

/// Calls `found` with the stamp of each data line ending in a newline in `bytes`: the
/// last word of a line ending in ` tick` (text between newlines, so chunk framing is
/// skipped). Returns how many bytes it used: those up to the last newline.
fn scan_lines(bytes: &[u8], found: &mut impl FnMut(u64)) -> usize {
    let mut start = 0;
    while let Some(nl) = bytes[start..].iter().position(|&b| b == b'\n') {
        if let Some(stamp) = stamp_of(&bytes[start..start + nl]) {
            found(stamp);
        }
        start += nl + 1;
    }
    start
}

/// The production stamp of a data line (`… <ns> tick`), if it is one.
fn stamp_of(line: &[u8]) -> Option<u64> {
    let words = line.strip_suffix(b" tick")?;
    let digits = &words[words.iter().rposition(|&b| b == b' ').map_or(0, |i| i + 1)..];
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        let digit = (b as char).to_digit(10)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// Every subscriber's lines from the reading threads' logs, in the order they
/// connected (subscriber i was dealt to thread i % threads, as its (i / threads)th).
fn lines_by_subscriber(logs: &[ArrivalLog], conns: usize) -> Vec<Vec<Line>> {
    let mut lines: Vec<Vec<Line>> = (0..conns).map(|_| Vec::new()).collect();
    for (thread, log) in logs.iter().enumerate() {
        for arrival in log.iter() {
            let after = |t: u64| t.saturating_sub(arrival.stamp) as f64 / 1e6;
            lines[arrival.sub as usize * logs.len() + thread].push(Line {
                stamp: u128::from(arrival.stamp),
                read_ms: after(arrival.read),
                socket_ms: after(arrival.at_socket),
            });
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two chunks as a server frames them: size line, data line, chunk end.
    const FEED: &[u8] =
        b"19\r\n1733000000000000001 tick\n\r\n1e\r\nline 1733000000000000002 tick\n\r\n";

    #[test]
    fn every_stamp_is_found_wherever_the_reads_cut_the_feed() {
        for cut in 0..=FEED.len() {
            let mut pending = Vec::new();
            let mut stamps = Vec::new();
            take_lines(&mut pending, &FEED[..cut], |s| stamps.push(s));
            take_lines(&mut pending, &FEED[cut..], |s| stamps.push(s));
            assert_eq!(
                stamps,
                [1_733_000_000_000_000_001, 1_733_000_000_000_000_002],
                "cut at {cut}"
            );
            assert!(pending.is_empty(), "cut at {cut}");
        }
    }

    #[test]
    fn lines_that_are_not_stamped_data_are_skipped() {
        let mut stamps = Vec::new();
        let feed = b"HTTP/1.1 200 OK\r\n\r\n tick\nx1 tick\n12 tock\n99999999999999999999999 tick\n7 tick\n";
        take_lines(&mut Vec::new(), feed, |s| stamps.push(s));
        assert_eq!(stamps, [7]);
    }

    #[test]
    fn subscribers_come_back_in_the_order_they_connected() {
        let share = |arrivals: &[(u32, u64)]| {
            let mut log = ArrivalLog::default();
            for &(sub, stamp) in arrivals {
                log.push(Arrival {
                    sub,
                    stamp,
                    read: stamp + 1_000_000,
                    at_socket: stamp,
                });
            }
            log
        };
        // Five subscribers dealt to two threads: 0, 2, 4 to the first, 1, 3 to the other.
        let logs = [
            share(&[(0, 10), (1, 12), (2, 14), (0, 20)]),
            share(&[(0, 11), (1, 13)]),
        ];
        let lines = lines_by_subscriber(&logs, 5);
        let stamps: Vec<Vec<u128>> = lines
            .iter()
            .map(|l| l.iter().map(|l| l.stamp).collect())
            .collect();
        assert_eq!(
            stamps,
            [vec![10, 20], vec![11], vec![12], vec![13], vec![14]]
        );
        assert_eq!(lines[0][0].read_ms, 1.0);
        assert_eq!(lines[0][0].socket_ms, 0.0);
    }
}
