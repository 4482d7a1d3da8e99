//! Reading logs back, for `stead logs`: the last lines or those since a time, across rotated
//! and gzipped files, merged by timestamp; then following the live files across rotations.
//!
//! `stead logs` often runs as root over a directory a program's user may write. A file is
//! opened as the writer opens it (`open.rs`): a symlink, a FIFO or anything but a regular file
//! among the logs is not read (a symlink to a secret would print the secret; a FIFO would
//! hang the command). Such a file is skipped and named, with why, in
//! [`Positions::refused`] and [`Follower::take_refused`]; the other files are read as usual.
//!
//! ```no_run
//! use stead_logs::Stream;
//! use stead_logs::read::{Source, Query, tail, Follower};
//!
//! let sources = vec![Source::new("web", Stream::Out, "/run/stead/logs/web.out.log".into())];
//! let (records, positions) = tail(&sources, &Query { lines: Some(10), since: None }).unwrap();
//! for r in &records {
//!     println!("{}", String::from_utf8_lossy(&r.line));
//! }
//! let mut follow = Follower::new(sources, positions);
//! let more = follow.poll().unwrap(); // call again every 100-250 ms
//! # let _ = more;
//! ```

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::stamp::leading_timestamp;
use super::{Stream, file_stem, rotated_files};
use stead_config::Config;

/// One stream of one program instance: its live file, and the rotated files beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The instance name (`web`, `web:1`).
    pub program: String,
    /// Which output.
    pub stream: Stream,
    /// The live file (`…/web.out.log`).
    pub live: PathBuf,
}

impl Source {
    /// A source reading `live` and its rotated files.
    pub fn new(program: &str, stream: Stream, live: PathBuf) -> Self {
        Source {
            program: program.to_string(),
            stream,
            live,
        }
    }

    /// Rotated files (oldest first), then the live file.
    fn files(&self) -> Vec<PathBuf> {
        let dir = self.live.parent().unwrap_or(Path::new("."));
        let name = self
            .live
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = name.strip_suffix(".log").unwrap_or(&name);
        let mut files: Vec<PathBuf> = rotated_files(dir, stem)
            .into_iter()
            .map(|f| f.path)
            .collect();
        files.push(self.live.clone());
        files
    }
}

/// The log sources of the programs `names` selects in `config` (all when empty), as the
/// supervisor running it writes them; `state_dir` gives the default log directory.
///
/// ```
/// # use std::path::Path;
/// use stead_config::Config;
/// use stead_logs::read::sources_from_config;
/// let config = Config::parse_portable(Path::new("/srv/stead.toml"),
///     "[program.web]\ncommand = ['sh']\nlog = { stderr = 'merge' }\n").unwrap();
/// let s = sources_from_config(&config, Path::new("/run/stead"), &[]).unwrap();
/// assert_eq!(s.len(), 1);
/// assert_eq!(s[0].live, Path::new("/run/stead/logs/web.out.log"));
/// ```
pub fn sources_from_config(
    config: &Config,
    state_dir: &Path,
    names: &[String],
) -> Result<Vec<Source>, String> {
    let dir = config
        .supervisor
        .log_dir
        .clone()
        .unwrap_or_else(|| state_dir.join("logs"));
    for n in names {
        if config.select(n).next().is_none() {
            let mut known: Vec<&str> = config.programs.iter().map(|p| p.group.as_str()).collect();
            known.sort_unstable();
            known.dedup();
            return Err(format!(
                "no program `{n}` in {}\n  hint: the programs are: {}",
                config.path.display(),
                known.join(", ")
            ));
        }
    }
    let mut out = Vec::new();
    for p in &config.programs {
        if !(names.is_empty() || names.iter().any(|n| p.answers_to(n))) || !p.log.file {
            continue;
        }
        let stem = file_stem(&p.name);
        out.push(Source::new(
            &p.name,
            Stream::Out,
            dir.join(format!("{stem}.out.log")),
        ));
        if !p.log.merge_stderr {
            out.push(Source::new(
                &p.name,
                Stream::Err,
                dir.join(format!("{stem}.err.log")),
            ));
        }
    }
    Ok(out)
}

/// One line read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// When it was written, if the file has timestamps.
    pub ts: Option<Timestamp>,
    /// The instance.
    pub program: String,
    /// Which output.
    pub stream: Stream,
    /// The line, without its timestamp and newline.
    pub line: Vec<u8>,
}

impl Record {
    /// Parses one line of a log file: JSON lines, text with a leading timestamp, or plain.
    fn parse(source: &Source, raw: &[u8]) -> Record {
        let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.starts_with(b"{\"ts\":")
            && let Ok(v) = serde_json::from_slice::<serde_json::Value>(raw)
        {
            let ts = v["ts"].as_str().and_then(|s| s.parse().ok());
            let mut line = v["line"].as_str().unwrap_or_default().as_bytes().to_vec();
            match v["cut"].as_str() {
                Some("split") => line.extend_from_slice(super::SPLIT_MARKER),
                Some("eof") => line.extend_from_slice(super::EOF_MARKER),
                _ => {}
            }
            return Record {
                ts,
                program: source.program.clone(),
                stream: source.stream,
                line,
            };
        }
        let (ts, line) = match leading_timestamp(raw) {
            Some((ts, rest)) => (Some(ts), rest),
            None => (None, raw),
        };
        Record {
            ts,
            program: source.program.clone(),
            stream: source.stream,
            line: line.to_vec(),
        }
    }
}

/// What to read.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query {
    /// At most this many lines in all (the newest).
    pub lines: Option<usize>,
    /// Only lines written at or after this time.
    pub since: Option<Timestamp>,
}

/// Where reading stopped in each source's live file, for [`Follower::new`]; and the files
/// that were not read because they are not regular files.
#[derive(Debug)]
pub struct Positions(Vec<Option<Position>>, Vec<String>);

impl Positions {
    /// Files skipped because a symlink or something else than a regular file is there: each
    /// `PATH: why`.
    pub fn refused(&self) -> &[String] {
        &self.1
    }
}

/// The live file as it was opened, and the offset read up to.
type Position = (File, u64);

/// Reads what `query` asks of every source, merged by time (lines without a timestamp keep
/// their file order, each source after the other). Also returns where each live file was
/// read up to, so that following continues without a gap or a repeat.
pub fn tail(sources: &[Source], query: &Query) -> io::Result<(Vec<Record>, Positions)> {
    let mut all: Vec<Vec<Record>> = Vec::new();
    let mut positions = Vec::new();
    let mut refused = Vec::new();
    for s in sources {
        let (records, pos) = tail_one(s, query, &mut refused)?;
        all.push(records);
        positions.push(pos);
    }
    let mut merged: Vec<Record> = all.into_iter().flatten().collect();
    if merged.iter().all(|r| r.ts.is_some()) {
        // Stable: lines of one source with the same timestamp keep their order.
        merged.sort_by_key(|r| r.ts);
    }
    if let Some(n) = query.lines {
        let drop = merged.len().saturating_sub(n);
        merged.drain(..drop);
    }
    Ok((merged, Positions(positions, refused)))
}

fn tail_one(
    source: &Source,
    query: &Query,
    refused: &mut Vec<String>,
) -> io::Result<(Vec<Record>, Option<Position>)> {
    let files = source.files();
    let mut newest_first: Vec<Record> = Vec::new();
    let mut position = None;
    'files: for (i, path) in files.iter().enumerate().rev() {
        let is_live = i == files.len() - 1;
        let lines: Vec<Vec<u8>> = if is_live {
            let mut file = match super::open::read(path) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) if super::open::is_refusal(&e) => {
                    refused.push(format!("{}: {e}", path.display()));
                    continue;
                }
                Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
            };
            let end = file.seek(SeekFrom::End(0))?;
            let want = query.since.is_none().then_some(query.lines).flatten();
            let lines = last_lines(&mut file, end, want)?;
            position = Some((file, end));
            lines
        } else {
            match read_rotated(path) {
                Ok(l) => l,
                // Removed by retention while we looked: skip it.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) if super::open::is_refusal(&e) => {
                    refused.push(format!("{}: {e}", path.display()));
                    continue;
                }
                Err(e) => return Err(e),
            }
        };
        for raw in lines.iter().rev() {
            let r = Record::parse(source, raw);
            if let (Some(since), Some(ts)) = (query.since, r.ts)
                && ts < since
            {
                break 'files;
            }
            newest_first.push(r);
            if query.since.is_none() && query.lines.is_some_and(|n| newest_first.len() >= n) {
                break 'files;
            }
        }
    }
    if query.since.is_some() {
        newest_first.retain(|r| r.ts.is_some());
    }
    newest_first.reverse();
    Ok((newest_first, position))
}

/// The last `want` lines (all when `None`) of the first `end` bytes of `file`, read
/// backwards in blocks so that a large live file costs only its tail.
fn last_lines(file: &mut File, end: u64, want: Option<usize>) -> io::Result<Vec<Vec<u8>>> {
    const BLOCK: u64 = 64 * 1024;
    let mut buf: Vec<u8> = Vec::new();
    let mut start = end;
    loop {
        let newlines = memchr::memchr_iter(b'\n', &buf).count();
        let enough = want.is_some_and(|n| newlines > n);
        if start == 0 || enough {
            break;
        }
        let from = start.saturating_sub(BLOCK);
        let mut block = vec![0u8; (start - from) as usize];
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(&mut block)?;
        block.extend_from_slice(&buf);
        buf = block;
        start = from;
    }
    let mut lines: Vec<Vec<u8>> = buf
        .split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    // The first piece may be the end of a line that started before what was read.
    if start > 0 && !lines.is_empty() {
        lines.remove(0);
    }
    if let Some(n) = want {
        let drop = lines.len().saturating_sub(n);
        lines.drain(..drop);
    }
    Ok(lines)
}

/// A rotated file's lines; one compressed since it was listed is read as its `.gz`.
fn read_rotated(path: &Path) -> io::Result<Vec<Vec<u8>>> {
    match read_all_lines(path) {
        Err(e)
            if e.kind() == io::ErrorKind::NotFound
                && path.extension().is_some_and(|x| x == "log") =>
        {
            read_all_lines(&path.with_extension("log.gz"))
        }
        other => other,
    }
}

fn read_all_lines(path: &Path) -> io::Result<Vec<Vec<u8>>> {
    let file = super::open::read(path)?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file)))
    } else {
        Box::new(file)
    };
    let mut reader = BufReader::with_capacity(256 * 1024, reader);
    let mut lines = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        if n == 0 {
            return Ok(lines);
        }
        lines.push(line);
    }
}

/// Follows the live files of sources: new lines as they are written, across rotations
/// (the rotated file is read to its end before the new live file is opened).
pub struct Follower {
    sources: Vec<Followed>,
    /// Files skipped since the last [`Follower::take_refused`], each named once.
    refused: Vec<String>,
    announced: std::collections::HashSet<String>,
}

struct Followed {
    source: Source,
    file: Option<File>,
    offset: u64,
    partial: Vec<u8>,
    /// The last bytes read from `file`: tells its rotated, compressed copy from the others.
    tail: Vec<u8>,
}

/// How many of the last bytes read are remembered to recognise a file after rotation.
const TAIL: usize = 256;

impl Follower {
    /// Starts where [`tail`] stopped.
    pub fn new(sources: Vec<Source>, positions: Positions) -> Self {
        let sources = sources
            .into_iter()
            .zip(positions.0)
            .map(|(source, pos)| {
                let (file, offset) = match pos {
                    Some((f, o)) => (Some(f), o),
                    None => (None, 0),
                };
                Followed {
                    source,
                    file,
                    offset,
                    partial: Vec::new(),
                    tail: Vec::new(),
                }
            })
            .collect();
        Follower {
            sources,
            refused: Vec::new(),
            announced: std::collections::HashSet::new(),
        }
    }

    /// Files skipped since the last call because a symlink or something else than a regular
    /// file is there (each `PATH: why`, each path once).
    pub fn take_refused(&mut self) -> Vec<String> {
        std::mem::take(&mut self.refused)
    }

    /// The lines written since the last call, merged by time.
    pub fn poll(&mut self) -> io::Result<Vec<Record>> {
        let mut out = Vec::new();
        let mut refused = Vec::new();
        for f in &mut self.sources {
            f.poll(&mut out, &mut refused)?;
        }
        for (path, why) in refused {
            if self.announced.insert(path.clone()) {
                self.refused.push(format!("{path}: {why}"));
            }
        }
        if out.iter().all(|r| r.ts.is_some()) {
            out.sort_by_key(|r| r.ts);
        }
        Ok(out)
    }
}

impl Followed {
    /// Reads what is new; a file that is not read (see the module docs) is added to
    /// `refused` as (path, why).
    fn poll(
        &mut self,
        out: &mut Vec<Record>,
        refused: &mut Vec<(String, String)>,
    ) -> io::Result<()> {
        if self.file.is_none() {
            match super::open::read(&self.source.live) {
                Ok(f) => {
                    self.file = Some(f);
                    self.offset = 0;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) if super::open::is_refusal(&e) => {
                    refused.push((self.source.live.display().to_string(), e.to_string()));
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
        self.read_new(out)?;
        // Rotated (or recreated by logrotate): the path is another file now.
        let old_meta = match &self.file {
            Some(f) => f.metadata()?,
            None => return Ok(()),
        };
        let replaced = match std::fs::metadata(&self.source.live) {
            Ok(now) => !same_file(&old_meta, &now),
            Err(_) => true,
        };
        if replaced {
            self.switch(&old_meta, out, refused)?;
        }
        Ok(())
    }

    /// The live file was replaced: finish the old one, then read every file rotated after
    /// it (several rotations may happen between two polls), then start on the new one.
    fn switch(
        &mut self,
        old_meta: &std::fs::Metadata,
        out: &mut Vec<Record>,
        refused: &mut Vec<(String, String)>,
    ) -> io::Result<()> {
        self.read_new(out)?;
        self.flush_partial(out);
        let old_len = self.offset;
        let old_tail = std::mem::take(&mut self.tail);
        // The new live file is opened before the rotated ones are listed, so that a
        // rotation in between cannot hide a file from both.
        let new = super::open::read(&self.source.live).ok();
        let new_meta = new.as_ref().and_then(|f| f.metadata().ok());
        let dir = self.source.live.parent().unwrap_or(Path::new("."));
        let name = self
            .source
            .live
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let rotated = rotated_files(dir, name.strip_suffix(".log").unwrap_or(&name));
        let found = rotated
            .iter()
            .rposition(|f| is_rotated_copy(f, old_meta, old_len, &old_tail));
        if let Some(i) = found {
            for f in &rotated[i + 1..] {
                let is_new_live = !f.compressed
                    && new_meta.as_ref().is_some_and(|m| {
                        std::fs::symlink_metadata(&f.path).is_ok_and(|fm| same_file(m, &fm))
                    });
                if is_new_live {
                    break;
                }
                match read_rotated(&f.path) {
                    Ok(lines) => out.extend(lines.iter().map(|l| Record::parse(&self.source, l))),
                    Err(e) if super::open::is_refusal(&e) => {
                        refused.push((f.path.display().to_string(), e.to_string()));
                    }
                    Err(_) => {}
                }
            }
        }
        self.file = new;
        self.offset = 0;
        self.read_new(out)
    }

    fn read_new(&mut self, out: &mut Vec<Record>) -> io::Result<()> {
        let Some(file) = &mut self.file else {
            return Ok(());
        };
        let len = file.metadata()?.len();
        if len < self.offset {
            // Truncated in place (`copytruncate`): start again from its beginning.
            self.offset = 0;
            self.partial.clear();
        }
        if len == self.offset {
            return Ok(());
        }
        file.seek(SeekFrom::Start(self.offset))?;
        let mut data = Vec::new();
        file.take(len - self.offset).read_to_end(&mut data)?;
        self.offset += data.len() as u64;
        self.tail
            .extend_from_slice(&data[data.len().saturating_sub(TAIL)..]);
        let extra = self.tail.len().saturating_sub(TAIL);
        self.tail.drain(..extra);
        self.partial.extend_from_slice(&data);
        let complete = memchr::memrchr(b'\n', &self.partial).map_or(0, |i| i + 1);
        for line in self.partial[..complete].split_inclusive(|b| *b == b'\n') {
            out.push(Record::parse(&self.source, line));
        }
        self.partial.drain(..complete);
        Ok(())
    }

    fn flush_partial(&mut self, out: &mut Vec<Record>) {
        if !self.partial.is_empty() {
            out.push(Record::parse(&self.source, &self.partial));
            self.partial.clear();
        }
    }
}

/// Whether rotated file `f` is the file that was live (metadata `old`, `len` bytes long,
/// ending with `tail`): the same file when still plain, else a gzip of that size (its
/// trailer says) whose content ends the same way.
fn is_rotated_copy(f: &super::RotatedFile, old: &std::fs::Metadata, len: u64, tail: &[u8]) -> bool {
    if !f.compressed {
        return std::fs::symlink_metadata(&f.path).is_ok_and(|m| same_file(old, &m));
    }
    let isize_matches = (|| -> io::Result<bool> {
        let mut file = super::open::read(&f.path)?;
        file.seek(SeekFrom::End(-4))?;
        let mut b = [0u8; 4];
        file.read_exact(&mut b)?;
        Ok(u32::from_le_bytes(b) == len as u32)
    })()
    .unwrap_or(false);
    isize_matches && read_all_lines(&f.path).is_ok_and(|lines| lines.concat().ends_with(tail))
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    // No stable file id in std on Windows: creation time tells a new file from the old.
    a.created().ok() == b.created().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir;
    use std::io::Write;

    fn texts(r: &[Record]) -> Vec<String> {
        r.iter()
            .map(|r| String::from_utf8_lossy(&r.line).into_owned())
            .collect()
    }

    #[test]
    fn tail_reads_across_rotated_and_gzipped_files_and_merges_by_time() {
        let dir = test_dir("read-tail");
        let gz = dir.join("web.out.20261123T100000.000000Z.log.gz");
        let mut enc =
            flate2::write::GzEncoder::new(File::create(&gz).unwrap(), flate2::Compression::fast());
        enc.write_all(b"2026-11-23T09:00:00.000000Z one\n2026-11-23T09:00:01.000000Z two\n")
            .unwrap();
        enc.finish().unwrap();
        std::fs::write(
            dir.join("web.out.log"),
            "2026-11-23T10:00:02.000000Z three\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("web.err.log"),
            "2026-11-23T09:30:00.000000Z oops\n",
        )
        .unwrap();
        let sources = vec![
            Source::new("web", Stream::Out, dir.join("web.out.log")),
            Source::new("web", Stream::Err, dir.join("web.err.log")),
        ];
        let (r, _) = tail(
            &sources,
            &Query {
                lines: Some(3),
                since: None,
            },
        )
        .unwrap();
        assert_eq!(texts(&r), ["two", "oops", "three"]);
        let since = "2026-11-23T09:00:01Z".parse().ok();
        let (r, _) = tail(&sources, &Query { lines: None, since }).unwrap();
        assert_eq!(texts(&r), ["two", "oops", "three"]);
        let (r, _) = tail(&sources, &Query::default()).unwrap();
        assert_eq!(r.len(), 4);
    }

    #[test]
    fn last_lines_reads_only_the_tail_of_a_big_file() {
        let dir = test_dir("read-last");
        let path = dir.join("big.log");
        let text: String = (0..50_000).fold(String::new(), |mut t, i| {
            std::fmt::Write::write_fmt(&mut t, format_args!("line {i}\n")).unwrap();
            t
        });
        std::fs::write(&path, &text).unwrap();
        let mut f = File::open(&path).unwrap();
        let end = f.metadata().unwrap().len();
        let lines = last_lines(&mut f, end, Some(3)).unwrap();
        assert_eq!(
            lines,
            [
                b"line 49997\n".to_vec(),
                b"line 49998\n".to_vec(),
                b"line 49999\n".to_vec()
            ]
        );
    }

    #[test]
    fn follow_continues_across_a_rotation_without_gap_or_repeat() {
        let dir = test_dir("read-follow");
        let live = dir.join("w.out.log");
        std::fs::write(&live, "a\nb\n").unwrap();
        let sources = vec![Source::new("w", Stream::Out, live.clone())];
        let (r, pos) = tail(
            &sources,
            &Query {
                lines: Some(1),
                since: None,
            },
        )
        .unwrap();
        assert_eq!(texts(&r), ["b"]);
        let mut f = Follower::new(sources, pos);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&live)
            .unwrap()
            .write_all(b"c\n")
            .unwrap();
        assert_eq!(texts(&f.poll().unwrap()), ["c"]);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&live)
            .unwrap()
            .write_all(b"d\n")
            .unwrap();
        std::fs::rename(&live, dir.join("w.out.20261123T100000.000000Z.log")).unwrap();
        std::fs::write(&live, "e\n").unwrap();
        assert_eq!(texts(&f.poll().unwrap()), ["d", "e"]);
        assert!(f.poll().unwrap().is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_and_fifos_among_the_logs_are_skipped_and_named() {
        let dir = test_dir("read-planted");
        let secret = dir.join("secret");
        std::fs::write(&secret, "2026-11-23T09:00:00.000000Z the secret\n").unwrap();
        let link = dir.join("web.out.20261123T090000.000000Z.log");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        let fifo = dir.join("web.out.20261123T093000.000000Z.log");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o666)).unwrap();
        let live = dir.join("web.out.log");
        std::fs::write(&live, "2026-11-23T10:00:00.000000Z mine\n").unwrap();
        let sources = vec![Source::new("web", Stream::Out, live.clone())];
        let (r, pos) = tail(&sources, &Query::default()).unwrap();
        assert_eq!(texts(&r), ["mine"]);
        let refused = pos.refused().join("\n");
        assert!(
            refused.contains(&format!("{}: a symbolic link is there", link.display())),
            "{refused}"
        );
        assert!(
            refused.contains(&format!("{}: a named pipe (FIFO) is there", fifo.display())),
            "{refused}"
        );
        // Following: the live file swapped for a symlink to the secret is not read either.
        let mut f = Follower::new(sources, pos);
        std::fs::remove_file(&live).unwrap();
        std::os::unix::fs::symlink(&secret, &live).unwrap();
        assert!(f.poll().unwrap().is_empty());
        assert!(f.poll().unwrap().is_empty());
        let refused = f.take_refused();
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert!(
            refused[0].contains("a symbolic link is there"),
            "{refused:?}"
        );
    }
}
