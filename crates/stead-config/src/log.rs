//! Where a program's output goes and how it is kept: the `[log]` defaults and each
//! `[program.NAME.log]`.

/// How captured output is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogMode {
    /// Text lines: timestamps and JSON are possible, lines longer than `max_line` are split
    /// with a marker, a last line without a newline is closed with a marker, and files
    /// rotate only between lines.
    Lines,
    /// Bytes exactly as written (binary output): no timestamps, no markers; files rotate at
    /// any byte.
    Raw,
}

/// The time put before each line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Timestamps {
    /// No timestamp.
    None,
    /// RFC 3339 in UTC with microseconds: `2026-11-23T15:34:39.123456Z`.
    Utc,
    /// RFC 3339 in the machine's time zone: `2026-11-23T16:34:39.123456+01:00`.
    Local,
}

/// The layout of the log files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// One line as the program wrote it, after the timestamp if any.
    Text,
    /// JSON lines: `{"ts":…,"program":…,"stream":…,"line":…}`.
    Json,
}

/// Time-based rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RotateEvery {
    /// Only by size.
    Never,
    /// At the first line written after each full hour (local time).
    Hourly,
    /// At the first line written after each midnight (local time).
    Daily,
}

/// Where a program's output goes and how it is kept.
///
/// ```
/// use stead_config::{LogSettings, Timestamps};
/// let log = LogSettings::default();
/// assert!(log.file && !log.merge_stderr);
/// assert_eq!(log.timestamps, Timestamps::Utc);
/// assert_eq!(log.max_line, 64 * 1024);
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LogSettings {
    /// Write to `<log dir>/NAME.out.log` and `NAME.err.log`.
    pub file: bool,
    /// Echo lines to the supervisor's stderr as `NAME | line`; `None`: when `stead up` runs
    /// in the foreground with a terminal as stderr, and the lines do not go to journald.
    pub console: Option<bool>,
    /// Send lines to the systemd journal (Linux).
    pub journald: bool,
    /// Send lines to the Windows Event Log.
    pub eventlog: bool,
    /// Give the program one pipe for stdout and stderr (like `2>&1`): one file, in order.
    pub merge_stderr: bool,
    /// Lines or raw bytes.
    pub mode: LogMode,
    /// Text or JSON lines.
    pub format: LogFormat,
    /// The time before each line.
    pub timestamps: Timestamps,
    /// A longer line is split into pieces of this many bytes, each but the last ending
    /// with a marker.
    pub max_line: usize,
    /// Rotate a file when it would grow past this many bytes (0: never by size).
    pub max_size: u64,
    /// Rotate by time.
    pub rotate: RotateEvery,
    /// Rotated files kept per stream (0: only the live file).
    pub keep: u32,
    /// Gzip rotated files in the background.
    pub compress: bool,
    /// Disk budget per program, live and rotated files of both streams (0: no budget
    /// beyond `keep`). The oldest rotated files are removed first, with a warning.
    pub max_total: u64,
    /// Bytes held in memory while the file cannot be written (disk full); output beyond
    /// this is counted as lost, and a marker in the file shows where.
    pub buffer: usize,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            file: true,
            console: None,
            journald: false,
            eventlog: false,
            merge_stderr: false,
            mode: LogMode::Lines,
            format: LogFormat::Text,
            timestamps: Timestamps::Utc,
            max_line: 64 * 1024,
            max_size: 100 * 1000 * 1000,
            rotate: RotateEvery::Never,
            keep: 10,
            compress: true,
            max_total: 0,
            buffer: 4 * 1024 * 1024,
        }
    }
}

/// Parses a size: a number of bytes, or a number with `K`, `M`, `G` (powers of 1000) or
/// `KiB`, `MiB`, `GiB` (powers of 1024); `B` and case are optional.
///
/// ```
/// use stead_config::parse_size;
/// assert_eq!(parse_size("100MB").unwrap(), 100_000_000);
/// assert_eq!(parse_size("64KiB").unwrap(), 65_536);
/// assert_eq!(parse_size("1.5G").unwrap(), 1_500_000_000);
/// assert_eq!(parse_size("512").unwrap(), 512);
/// assert!(parse_size("ten").is_err());
/// ```
pub fn parse_size(text: &str) -> Result<u64, String> {
    let s = text.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num.replace('_', "").parse().map_err(|_| {
        format!("`{text}` is not a size; write for example \"100MB\", \"64KiB\" or \"1G\"")
    })?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "ki" | "kib" => 1024.0,
        "mi" | "mib" => 1024.0 * 1024.0,
        "gi" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "ti" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "`{other}` in `{text}` is not a size unit; use B, KB, MB, GB or KiB, MiB, GiB"
            ));
        }
    };
    let bytes = value * scale;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(bytes.round() as u64)
}

/// The file name stem for an instance: `web`, or `web@1` for `web:1` (`:` is not allowed in
/// Windows file names).
///
/// ```
/// assert_eq!(stead_config::file_stem("web:1"), "web@1");
/// ```
pub fn file_stem(instance: &str) -> String {
    instance.replace(':', "@")
}

/// The longest file name most file systems allow (`NAME_MAX`: ext4, XFS, Btrfs, tmpfs, APFS;
/// NTFS counts 255 UTF-16 units, which a program name, being ASCII, fills the same).
pub const NAME_MAX: usize = 255;

/// The longest file name the log files of `instance` ever get: a rotated file being
/// compressed, `web@1.err.20261123T090000.000001Z.log.gz.tmp`. The stamp has a fixed width
/// (the log writer's test holds it to this one).
///
/// ```
/// assert_eq!(
///     stead_config::longest_file_name("web:1"),
///     "web@1.err.19700101T000000.000000Z.log.gz.tmp"
/// );
/// ```
pub fn longest_file_name(instance: &str) -> String {
    format!(
        "{}.err.19700101T000000.000000Z.log.gz.tmp",
        file_stem(instance)
    )
}
