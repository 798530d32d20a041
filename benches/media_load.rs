//! Media upload benchmark: `ObjectMediaStore::put` of a video (the library: the upload's checks,
//! its format sniffed from the first bytes, SHA-256 of every byte, streamed multipart with at most
//! 4 parts of 8 MiB in flight) beside the raw `object_store` upload of the same bytes on the same
//! client, in the same run:
//!
//! | part | the library | raw baseline |
//! |---|---|---|
//! | throughput | `put` of `Upload::new("video/mp4", body)`, body = `sample::mp4_header()` then filler, in 1 MiB `Bytes` chunks | `WriteMultipart::new_with_chunk_size(put_multipart(path), 8 MiB)`, `wait_for_capacity(4)` before each chunk, `finish`; the same chunks |
//! | peak memory | growth of this process's resident memory during one large `put` | - |
//!
//! Targets: `s3` is `ObjectMediaStore::s3(&S3Config::from_env())` (the server of
//! `eval "$(scripts/s3)"`; the raw side uses the store's own `AmazonS3` client, the one
//! `S3Config::build` made), `local` is `ObjectMediaStore::local` in a temporary folder (raw side:
//! its `LocalFileSystem`). Every chunk is a fresh 1 MiB allocation (a copy of one filler
//! buffer), as bytes arriving from a network would be, so buffered parts count in the resident
//! memory; the body is generated lazily, chunk by chunk.
//!
//! Rounds alternate library and raw uploads of the same size; the best and the median of each
//! side are printed, with their ratio (library / raw). Each object is deleted right after its
//! upload (outside the timing). The peak-memory uploads run first (the first target's is the
//! process's first upload), so memory the allocator kept from the measured rounds cannot hide
//! their growth; each is read two ways: `VmRSS` of `/proc/self/status` sampled every 10 ms by a
//! thread (its maximum minus the value before the upload), and `VmHWM` after a reset through
//! `/proc/self/clear_refs` (when the kernel allows it). Nothing is asserted on time.
//!
//! Run it with `scripts/bench` (section `media`), or
//! `cargo bench --bench media_load --features s3` with the S3 variables set. Environment:
//! `BENCH_MEDIA_MIB` (size of each measured upload, default 256), `BENCH_MEDIA_ROUNDS` (uploads
//! of each side per target, default 3), `BENCH_MEDIA_PEAK_MIB` (size of the peak-memory upload,
//! default 1024; 0 skips it), `BENCH_MEDIA_TARGETS` (default `s3,local`; `s3` needs
//! `S3_ENDPOINT`), `BENCH_MEDIA_DIR` (parent of the local target's temporary folder, default
//! the system's temporary directory).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use clientnest::ids::{PostId, TeamId};
use clientnest::media::{MediaFormat, MediaKey, MediaLimits, MediaStore, Upload, UrlSigner, sample};
use clientnest::s3::{ObjectMediaStore, S3Config};
use clientnest::{Error, Result};
use futures::stream::{Stream, StreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use tokio::runtime::Runtime;

const MIB: usize = 1 << 20;
/// The size of each chunk of the body, as the upload stream yields them.
const CHUNK: usize = MIB;
/// Multipart part size and parts in flight: the library's defaults, used by the raw side too.
const PART: usize = 8 * MIB;
const IN_FLIGHT: usize = 4;
/// Sampling period of the resident-memory thread.
const SAMPLE_EVERY: Duration = Duration::from_millis(10);
/// The throughput target, library / raw.
const TARGET_RATIO: f64 = 0.95;
/// The peak-memory target, in MiB of resident-memory growth.
const TARGET_PEAK_MIB: f64 = 64.0;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("media_load: {e}");
            ExitCode::FAILURE
        }
    }
}

/// An environment variable parsed as a number, or a default.
fn env_number(name: &str, default: usize) -> Result<usize> {
    match std::env::var(name) {
        Ok(v) => v.parse().map_err(|_| Error::backend("bench", format!("{name}={v:?} is not a number"))),
        Err(_) => Ok(default),
    }
}

fn bench_err(e: impl std::fmt::Display) -> Error {
    Error::backend("bench", e.to_string())
}

/// One target: a media store, and the `object_store` client under it for the raw side.
struct Target {
    name: &'static str,
    media: ObjectMediaStore,
    raw: Arc<dyn ObjectStore>,
    /// Keeps the local target's folder until the end.
    _dir: Option<tempfile::TempDir>,
}

impl Target {
    fn s3() -> Result<Target> {
        let config = S3Config::from_env()
            .ok_or_else(|| bench_err("S3_ENDPOINT is unset: run `eval \"$(scripts/s3)\"` first"))?;
        let media = ObjectMediaStore::s3(&config)?;
        let raw = Arc::clone(media.object_store());
        Ok(Target { name: "s3", media, raw, _dir: None })
    }

    fn local() -> Result<Target> {
        let mut builder = tempfile::Builder::new();
        builder.prefix("clientnest-media-bench-");
        let dir = match std::env::var_os("BENCH_MEDIA_DIR") {
            Some(parent) => builder.tempdir_in(parent),
            None => builder.tempdir(),
        }
        .map_err(bench_err)?;
        let base = url::Url::parse("http://127.0.0.1:8080/media/").map_err(bench_err)?;
        let media = ObjectMediaStore::local(dir.path(), UrlSigner::random(base)?)?;
        let raw = Arc::clone(media.object_store());
        Ok(Target { name: "local", media, raw, _dir: Some(dir) })
    }
}

/// A video body of `bytes` bytes in 1 MiB chunks, each a fresh allocation, made as it is read.
fn body(bytes: usize, filler: Arc<Vec<u8>>) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    let header = sample::mp4_header();
    let chunks = bytes.div_ceil(CHUNK);
    futures::stream::iter((0..chunks).map(move |i| {
        let len = CHUNK.min(bytes - i * CHUNK);
        let mut chunk = BytesMut::with_capacity(len);
        if i == 0 {
            let head = header.len().min(len);
            chunk.extend_from_slice(&header[..head]);
            chunk.extend_from_slice(&filler[..len - head]);
        } else {
            chunk.extend_from_slice(&filler[..len]);
        }
        Ok(chunk.freeze())
    }))
}

/// One filler buffer of pseudo-random bytes (xorshift), copied into every chunk.
fn filler() -> Arc<Vec<u8>> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = Vec::with_capacity(CHUNK);
    while out.len() < CHUNK {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(CHUNK);
    Arc::new(out)
}

/// A library upload of `bytes` bytes under a fresh key: its duration, then the key is deleted.
async fn library_put(target: &Target, bytes: usize, filler: Arc<Vec<u8>>) -> Result<Duration> {
    let (team, post) = (TeamId::new(), PostId::new());
    let key = MediaKey::new(team, post, MediaFormat::Mp4);
    let limits = MediaLimits::default().with_video_bytes(bytes as u64);
    let upload = Upload::new("video/mp4", body(bytes, filler))?.with_limits(limits);
    let start = Instant::now();
    let stored = target.media.put(team, &key, upload).await?;
    let elapsed = start.elapsed();
    if stored.inspected.size != bytes as u64 || stored.inspected.sha256.len() != 64 {
        return Err(bench_err(format!("stored {} bytes of {bytes}", stored.inspected.size)));
    }
    target.media.delete(team, &key).await?;
    Ok(elapsed)
}

/// The raw upload of the same bytes: `WriteMultipart` with 8 MiB parts, 4 in flight.
async fn raw_put(target: &Target, bytes: usize, filler: Arc<Vec<u8>>) -> Result<Duration> {
    let path = Path::from(format!("bench-raw/{}.mp4", uuid::Uuid::new_v4().simple()));
    let mut chunks = Box::pin(body(bytes, filler));
    let start = Instant::now();
    let multipart = target.raw.put_multipart(&path).await.map_err(bench_err)?;
    let mut writer = WriteMultipart::new_with_chunk_size(multipart, PART);
    while let Some(chunk) = chunks.next().await {
        writer.wait_for_capacity(IN_FLIGHT).await.map_err(bench_err)?;
        writer.put(chunk.map_err(bench_err)?);
    }
    writer.finish().await.map_err(bench_err)?;
    let elapsed = start.elapsed();
    let size = target.raw.head(&path).await.map_err(bench_err)?.size;
    if size != bytes as u64 {
        return Err(bench_err(format!("the raw upload stored {size} bytes of {bytes}")));
    }
    target.raw.delete(&path).await.map_err(bench_err)?;
    Ok(elapsed)
}

fn mib_per_sec(bytes: usize, elapsed: Duration) -> f64 {
    bytes as f64 / MIB as f64 / elapsed.as_secs_f64()
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

fn best(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NAN, f64::max)
}

/// A field of `/proc/self/status` in kB (`VmRSS`, `VmHWM`).
fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':')?.trim().strip_suffix("kB")?.trim().parse().ok())
}

/// What one peak-memory upload showed.
struct Peak {
    target: &'static str,
    mib: usize,
    mib_per_sec: f64,
    rss_before_mib: f64,
    sampled_growth_mib: f64,
    samples: usize,
    hwm_growth_mib: Option<f64>,
}

/// One library upload of `mib` MiB while a thread samples `VmRSS` every 10 ms.
fn peak_memory(runtime: &Runtime, target: &Target, mib: usize, filler: Arc<Vec<u8>>) -> Result<Peak> {
    let kb_to_mib = |kb: u64| kb as f64 / 1024.0;
    let before = status_kb("VmRSS").ok_or_else(|| bench_err("no VmRSS in /proc/self/status"))?;
    // Resets VmHWM to the current VmRSS (Linux 4.0+); when refused, only the sampler counts.
    let hwm_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok()
        && status_kb("VmHWM").is_some_and(|hwm| hwm <= before + 1024);
    let hwm_before = status_kb("VmRSS").unwrap_or(before);
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let (mut max, mut samples) = (0u64, 0usize);
            while !stop.load(Ordering::Relaxed) {
                if let Some(rss) = status_kb("VmRSS") {
                    max = max.max(rss);
                    samples += 1;
                }
                std::thread::sleep(SAMPLE_EVERY);
            }
            (max, samples)
        })
    };
    let result = runtime.block_on(library_put(target, mib * MIB, filler));
    stop.store(true, Ordering::Relaxed);
    let (max, samples) = sampler.join().map_err(|_| bench_err("the memory sampler panicked"))?;
    let elapsed = result?;
    let hwm_growth_mib =
        if hwm_reset { status_kb("VmHWM").map(|hwm| kb_to_mib(hwm.saturating_sub(hwm_before))) } else { None };
    Ok(Peak {
        target: target.name,
        mib,
        mib_per_sec: mib_per_sec(mib * MIB, elapsed),
        rss_before_mib: kb_to_mib(before),
        sampled_growth_mib: kb_to_mib(max.saturating_sub(before)),
        samples,
        hwm_growth_mib,
    })
}

/// The measured rounds of one target: library and raw alternating, MiB/s of each upload.
fn throughput(
    runtime: &Runtime,
    target: &Target,
    bytes: usize,
    rounds: usize,
    filler: &Arc<Vec<u8>>,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let (mut library, mut raw) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        // Alternate which side goes first, so neither always follows the other.
        let sides: [bool; 2] = if round % 2 == 1 { [true, false] } else { [false, true] };
        for is_library in sides {
            let elapsed = if is_library {
                runtime.block_on(library_put(target, bytes, Arc::clone(filler)))?
            } else {
                runtime.block_on(raw_put(target, bytes, Arc::clone(filler)))?
            };
            let rate = mib_per_sec(bytes, elapsed);
            let side = if is_library { "library" } else { "raw" };
            eprintln!(
                "{}: round {round} of {rounds}, {side}: {rate:.1} MiB/s ({:.2} s)",
                target.name,
                elapsed.as_secs_f64()
            );
            if is_library { library.push(rate) } else { raw.push(rate) }
        }
    }
    Ok((library, raw))
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "missed" }
}

fn run() -> Result<()> {
    let mib = env_number("BENCH_MEDIA_MIB", 256)?.max(1);
    let rounds = env_number("BENCH_MEDIA_ROUNDS", 3)?.max(1);
    let peak_mib = env_number("BENCH_MEDIA_PEAK_MIB", 1024)?;
    let names = std::env::var("BENCH_MEDIA_TARGETS").unwrap_or_else(|_| "s3,local".to_owned());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(bench_err)?;
    let mut targets = Vec::new();
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        targets.push(match name {
            "s3" => Target::s3()?,
            "local" => Target::local()?,
            other => return Err(bench_err(format!("unknown target {other:?} (s3, local)"))),
        });
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    println!("load:    {} (1, 5, 15 min) at the start", load.join(" "));
    println!(
        "machine: {} cores; {mib} MiB per upload, {rounds} rounds of each side, 1 MiB chunks, {} MiB parts, {IN_FLIGHT} in flight",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        PART / MIB
    );
    let filler = filler();

    let mut peaks = Vec::new();
    if peak_mib > 0 {
        for target in &targets {
            eprintln!("{}: peak memory during one {peak_mib} MiB library upload", target.name);
            peaks.push(peak_memory(&runtime, target, peak_mib, Arc::clone(&filler))?);
        }
    }
    let mut rows = Vec::new();
    for target in &targets {
        let (library, raw) = throughput(&runtime, target, mib * MIB, rounds, &filler)?;
        rows.push((target.name, library, raw));
    }

    println!();
    println!("#### Upload throughput ({mib} MiB video, {rounds} rounds of each side, alternating)");
    println!();
    println!(
        "| target | library best MiB/s | library median | raw `WriteMultipart` best MiB/s | raw median | ratio (best) | ratio (median) | target |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for (name, library, raw) in &rows {
        let (lb, lm, rb, rm) = (best(library), median(library), best(raw), median(raw));
        println!(
            "| {name} | {lb:.1} | {lm:.1} | {rb:.1} | {rm:.1} | **{:.3}x** | {:.3}x | >= {TARGET_RATIO}x: {} |",
            lb / rb,
            lm / rm,
            met(lb / rb >= TARGET_RATIO)
        );
    }
    if !peaks.is_empty() {
        println!();
        println!("#### Peak memory (one library upload per target, before the throughput rounds)");
        println!();
        println!(
            "| target | upload | MiB/s | VmRSS before | VmRSS growth (max of samples every 10 ms) | samples | VmHWM growth (after clear_refs) | target |"
        );
        println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
        for p in &peaks {
            let hwm = p.hwm_growth_mib.map_or_else(|| "n/a".to_owned(), |m| format!("{m:.1} MiB"));
            let worst = p.hwm_growth_mib.unwrap_or(0.0).max(p.sampled_growth_mib);
            println!(
                "| {} | {} MiB | {:.1} | {:.1} MiB | **{:.1} MiB** | {} | {hwm} | <= {TARGET_PEAK_MIB} MiB: {} |",
                p.target,
                p.mib,
                p.mib_per_sec,
                p.rss_before_mib,
                p.sampled_growth_mib,
                p.samples,
                met(worst <= TARGET_PEAK_MIB)
            );
        }
    }
    Ok(())
}
